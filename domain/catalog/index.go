package catalog

import "time"

// Indexes version the catalog, as Consul's blocking queries do. Every
// service has one, and it moves forward on every change of what a lookup
// of the service answers (an instance registered, replaced, deregistered or
// expired) but not on a renewal that changes nothing else. The catalog has
// one too; it moves when a service appears or disappears.
//
// Every change takes the next index of one sequence shared by the whole
// catalog, as Consul's Raft index: a service's index is the sequence's
// value at its last change. So indexes are unique and ordered across
// services (the change feed asks "which moved above N"), while a watcher
// of one service still sees its index move only when that service
// changes.
//
// The next index is never below the time of the change in Unix
// microseconds: NextIndex(last, now) = max(last+1, now). So an index is
// ≥ 1, never goes backwards on one backend, and does not go backwards
// either when the backend loses the stored value (a Redis failover that
// dropped the last writes, a memory store restarted), as long as the
// clock of whoever writes does not jump back. Indexes stay below 2^53
// until the year 2255, so JavaScript clients and Lua scripts hold them
// exactly.

// NextIndex is the index that follows last for a change made at now.
func NextIndex(last uint64, now time.Time) uint64 {
	floor := uint64(max(now.UnixMicro(), 1))
	return max(last+1, floor)
}

// Change is what a write did to its service: whether it created an
// instance (Put), how many live instances it removed (Delete), and the
// service's index before (0 when the store held none for it) and after. A
// replica keeping a copy of the catalog applies its own writes with it.
type Change struct {
	Created     bool
	Removed     int
	Prev, Index uint64
	// Catalog is the catalog's index after the write when the write moved
	// it (the service appeared or disappeared), else 0.
	Catalog uint64
}

// Service is one service as a read sees it: its live instances (none when
// the service is not registered) and its index.
type Service struct {
	Name      string
	Index     uint64
	Instances []Instance
}

// Found reports whether the service has a live instance.
func (s Service) Found() bool { return len(s.Instances) > 0 }

// ServiceIndex names a service and its index.
type ServiceIndex struct {
	Name  string
	Index uint64
}

// Catalog is the whole catalog as a read sees it: the services with a live
// instance, sorted by name, and those that lost their last instance
// (removed), each with its index, plus the catalog's own index.
type Catalog struct {
	// Index moves when a service appears or disappears.
	Index uint64
	// Services are the live services, sorted by name.
	Services []ServiceIndex
	// Removed are services without a live instance whose removal is
	// remembered, sorted by name; their index is the removal's.
	Removed []ServiceIndex
	// Since is how far back Removed is complete: every removal with an
	// index above Since is listed (older ones may be forgotten).
	Since uint64
}

// Names lists the live services' names, sorted.
func (c Catalog) Names() []string {
	names := make([]string, len(c.Services))
	for i, s := range c.Services {
		names[i] = s.Name
	}
	return names
}

// MaxIndex is the highest index in the catalog: it moves on every change
// of any service, so one number tells a watcher that something changed.
func (c Catalog) MaxIndex() uint64 {
	m := max(c.Index, 1)
	for _, s := range c.Services {
		m = max(m, s.Index)
	}
	for _, s := range c.Removed {
		m = max(m, s.Index)
	}
	return m
}

// Changes is the change feed's answer: which services of a set moved
// after the index a client gave.
type Changes struct {
	// Index is the feed's index: the highest index among the set's
	// services (any service's when the set is empty).
	Index uint64
	// Services are the live services of the set whose index is above the
	// client's (all of them when Complete), with their index.
	Services []ServiceIndex
	// Removed are the set's services removed after the client's index.
	Removed []ServiceIndex
	// Complete says Services lists every live service of the set: the
	// client's index was 0 or older than what the registry remembers of
	// removals, so whatever it knows and is not listed is gone.
	Complete bool
}
