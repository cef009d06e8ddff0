// Package view is an in-memory, versioned catalog with watchers: every
// service's live instances and index, the catalog's index, the services
// removed lately (tombstones), and channels that close when an index moves.
//
// The memory store keeps its truth in a Table; a replica on Redis keeps a
// Table as a coherent copy of Redis and answers reads and blocking queries
// from it. The Table itself does no I/O and reads no clock: time is an
// argument.
package view

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vertice/vertice/domain/catalog"
)

// Table is safe for concurrent use. Build it with New.
type Table struct {
	mu        sync.Mutex
	services  map[string]*entry
	catalog   uint64 // moves when a service appears or disappears
	max       uint64 // the highest index anywhere: the change feed's
	since     uint64 // removals above it are remembered; the index of unknown services
	catalogCh chan struct{}
	anyCh     chan struct{}
}

// entry is one service: live (instances), removed (a tombstone: no
// instances, index > 0) or a placeholder that only holds waiters.
type entry struct {
	index     uint64
	instances map[string]catalog.Instance
	earliest  time.Time // no lease ends before this (zero: no instance)
	changed   chan struct{}
	waiters   int
}

// New returns an empty table whose first index is the one that follows
// since (for a memory store, catalog.NextIndex(0, now)); every service
// not known yet reads with index since.
func New(since uint64) *Table {
	since = max(since, 1)
	return &Table{services: map[string]*entry{}, catalog: since, max: since, since: since}
}

// closed is a channel that is always ready: "already changed".
var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Service returns the live instances of name at now (unsorted) and its index.
func (t *Table) Service(name string, now time.Time) catalog.Service {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := catalog.Service{Name: name, Index: t.indexOf(t.services[name])}
	if e := t.services[name]; e != nil {
		out.Instances = e.live(now)
	}
	return out
}

// Stale returns every instance of name the table holds, leases not judged,
// and whether there is one: what an outage serves.
func (t *Table) Stale(name string) (catalog.Service, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.services[name]
	if e == nil || len(e.instances) == 0 {
		return catalog.Service{}, false
	}
	out := catalog.Service{Name: name, Index: e.index, Instances: make([]catalog.Instance, 0, len(e.instances))}
	for _, in := range e.instances {
		out.Instances = append(out.Instances, in)
	}
	return out, true
}

// Catalog returns the services live at now and the removed ones. With
// stale set, leases are not judged (an outage's answer).
func (t *Table) Catalog(now time.Time, stale bool) catalog.Catalog {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := catalog.Catalog{Index: t.catalog, Since: t.since}
	for name, e := range t.services {
		si := catalog.ServiceIndex{Name: name, Index: e.index}
		switch {
		case e.index == 0: // a placeholder for waiters
		case len(e.instances) > 0 && (stale || e.anyLive(now)):
			out.Services = append(out.Services, si)
		default:
			out.Removed = append(out.Removed, si)
		}
	}
	byName := func(a, b catalog.ServiceIndex) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(out.Services, byName)
	slices.SortFunc(out.Removed, byName)
	return out
}

// Index is name's index, as Service reads it, without copying instances.
func (t *Table) Index(name string) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.indexOf(t.services[name])
}

// Len is how many services the table holds anything for: live ones,
// tombstones and placeholders. Tombstones are forgotten (Forget) and
// placeholders leave with their last waiter, so it does not grow with
// every service ever seen.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.services)
}

// CatalogIndex is the catalog's index.
func (t *Table) CatalogIndex() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.catalog
}

// MaxIndex is the highest index in the table: the change feed's.
func (t *Table) MaxIndex() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.max
}

// indexOf is e's index; a service without instances reads at least since
// (a tombstone older than since, kept for its waiters, too), and one the
// table does not know reads since. Callers hold mu.
func (t *Table) indexOf(e *entry) uint64 {
	if e == nil {
		return t.since
	}
	if len(e.instances) == 0 {
		return max(e.index, t.since)
	}
	return e.index
}

func (e *entry) live(now time.Time) []catalog.Instance {
	out := make([]catalog.Instance, 0, len(e.instances))
	for _, in := range e.instances {
		if !in.Expired(now) {
			out = append(out, in)
		}
	}
	return out
}

func (e *entry) liveCount(now time.Time) int {
	n := 0
	for _, in := range e.instances {
		if !in.Expired(now) {
			n++
		}
	}
	return n
}

func (e *entry) anyLive(now time.Time) bool {
	if e.earliest.After(now) {
		return true
	}
	for _, in := range e.instances {
		if !in.Expired(now) {
			return true
		}
	}
	return false
}

// entryFor returns name's entry, creating an empty one. Callers hold mu.
func (t *Table) entryFor(name string) *entry {
	e := t.services[name]
	if e == nil {
		e = &entry{instances: map[string]catalog.Instance{}}
		t.services[name] = e
	}
	return e
}

// moved records e's new index and wakes whoever waits on it or on any
// change. Callers hold mu.
func (t *Table) moved(e *entry, index uint64) {
	e.index = index
	e.earliest = earliest(e.instances)
	t.wake(&e.changed)
	t.max = max(t.max, index)
	t.wake(&t.anyCh)
}

// setCatalog moves the catalog index forward and wakes its waiters.
// Callers hold mu.
func (t *Table) setCatalog(index uint64) {
	if index <= t.catalog {
		return
	}
	t.catalog = index
	t.max = max(t.max, index)
	t.wake(&t.catalogCh)
	t.wake(&t.anyCh)
}

func earliest(instances map[string]catalog.Instance) time.Time {
	var first time.Time
	for _, in := range instances {
		if exp := in.ExpiresAt(); first.IsZero() || exp.Before(first) {
			first = exp
		}
	}
	return first
}
