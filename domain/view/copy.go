package view

import (
	"time"

	"github.com/vertice/vertice/domain/catalog"
)

// The writes of a table that copies another store (a replica's copy of
// Redis): the other store computes indexes, the table takes them.

// Replace sets a service's instances as read at s.Index, unless the table
// already holds that index or a later one. It says whether it changed
// anything. An empty s makes the service a tombstone.
func (t *Table) Replace(s catalog.Service) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entryFor(s.Name)
	if s.Index <= e.index {
		return false
	}
	clear(e.instances)
	for _, in := range s.Instances {
		e.instances[in.InstanceID] = in
	}
	t.moved(e, s.Index)
	return true
}

// Apply makes a write the copy's own process just did (ch, as the other
// store answered it): edit changes the instances. It returns false when
// the table is neither at ch.Prev nor already at ch.Index or later: it
// missed another change, and the caller must read the service again. The
// catalog's index moves to ch.Catalog either way.
func (t *Table) Apply(service string, ch catalog.Change, edit func(map[string]catalog.Instance)) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.setCatalog(ch.Catalog)
	e := t.entryFor(service)
	switch {
	case e.index >= ch.Index:
		return true // a notice of this very write got here first
	case e.index != ch.Prev:
		return false
	}
	edit(e.instances)
	t.moved(e, ch.Index)
	return true
}

// Renewed records a renewal: the instance's last heartbeat moves to at, if
// the table holds the instance with an older one. Indexes do not move.
func (t *Table) Renewed(service, id string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.services[service]
	if e == nil {
		return
	}
	if in, ok := e.instances[id]; ok && at.After(in.LastHeartbeat) {
		e.instances[id] = in.Renewed(at)
	}
}

// SetSince records that the other store forgot removals up to since:
// tombstones at or below it go, and unknown services read since.
func (t *Table) SetSince(since uint64) {
	t.Forget(since + 1)
	t.mu.Lock()
	defer t.mu.Unlock()
	if since > t.since {
		t.since = since
		t.wakePlaceholders()
	}
}

// SetCatalog moves the catalog's index forward to index.
func (t *Table) SetCatalog(index uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.setCatalog(index)
}

// Reset replaces the whole table with a fresh read of the other store:
// cat and every live service's instances. Every waiter is woken to check
// its index against the new read (a copy resets after it may have missed
// changes, so cheaper bookkeeping would not be safer).
func (t *Table) Reset(cat catalog.Catalog, services []catalog.Service) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.services
	t.services = make(map[string]*entry, len(cat.Services)+len(cat.Removed))
	for _, s := range services {
		e := t.entryFor(s.Name)
		for _, in := range s.Instances {
			e.instances[in.InstanceID] = in
		}
		e.index, e.earliest = s.Index, earliest(e.instances)
		t.max = max(t.max, s.Index)
	}
	for _, r := range cat.Removed {
		if _, live := t.services[r.Name]; !live {
			t.entryFor(r.Name).index = r.Index
			t.max = max(t.max, r.Index)
		}
	}
	t.since = max(t.since, cat.Since)
	for name, o := range old {
		if o.changed != nil {
			close(o.changed)
		}
		if o.waiters > 0 {
			t.entryFor(name).waiters += o.waiters
		}
	}
	t.setCatalog(cat.Index)
	t.wake(&t.catalogCh)
	t.wake(&t.anyCh)
}
