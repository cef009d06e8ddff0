package view

import (
	"time"

	"github.com/vertice/vertice/domain/catalog"
)

// The writes of a table that is the truth (the memory store). Each first
// drops the service's instances whose lease has ended, as Expire would.

// Put stores in at now, replacing the instance with the same ID, and says
// whether no live instance had that ID. The service's index moves, and the
// catalog's when the service appears.
func (t *Table) Put(in catalog.Instance, now time.Time) catalog.Change {
	ch, _ := t.PutWithin(in, now, 0)
	return ch
}

// PutWithin is Put, unless in would be a new live instance of a service
// that has maxInstances of them already (maxInstances > 0): then nothing
// changes and ok is false.
func (t *Table) PutWithin(in catalog.Instance, now time.Time, maxInstances int) (ch catalog.Change, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.services[in.ServiceName]
	if e != nil && maxInstances > 0 && len(e.instances) >= maxInstances {
		old, has := e.instances[in.InstanceID]
		if replaces := has && !old.Expired(now); !replaces && e.liveCount(now) >= maxInstances {
			return catalog.Change{}, false
		}
	}
	e = t.entryFor(in.ServiceName)
	prev := e.index
	t.expire(e, now)
	wasLive := len(e.instances) > 0
	_, existed := e.instances[in.InstanceID]
	e.instances[in.InstanceID] = in
	t.moved(e, t.next(now))
	ch = catalog.Change{Created: !existed, Prev: prev, Index: e.index}
	if !wasLive {
		t.setCatalog(t.next(now))
		ch.Catalog = t.catalog
	}
	return ch, true
}

// Renew restarts a live instance's lease at now. Its index does not move:
// nothing a watcher cares about changed.
func (t *Table) Renew(service, id string, now time.Time) (catalog.Instance, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.services[service]
	if e == nil {
		return catalog.Instance{}, false
	}
	in, ok := e.instances[id]
	if !ok || in.Expired(now) {
		return catalog.Instance{}, false
	}
	in = in.Renewed(now)
	e.instances[id] = in
	return in, true
}

// Delete removes one live instance, or every one when id is empty, and
// says how many went.
func (t *Table) Delete(service, id string, now time.Time) catalog.Change {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.services[service]
	if e == nil {
		return catalog.Change{}
	}
	ch := catalog.Change{Prev: e.index}
	t.expire(e, now)
	switch _, ok := e.instances[id]; {
	case id == "":
		ch.Removed = len(e.instances)
		clear(e.instances)
	case ok:
		ch.Removed = 1
		delete(e.instances, id)
	}
	if ch.Removed > 0 {
		t.removed(e, now)
		if len(e.instances) == 0 {
			ch.Catalog = t.catalog
		}
	}
	ch.Index = t.indexOf(e)
	return ch
}

// Expire drops every instance whose lease has ended at now and returns the
// services whose index moved.
func (t *Table) Expire(now time.Time) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var changed []string
	for name, e := range t.services {
		if !e.earliest.IsZero() && !e.earliest.After(now) && t.expire(e, now) {
			changed = append(changed, name)
		}
	}
	return changed
}

// expire drops e's ended leases; the index moves if any went. Callers
// hold mu.
func (t *Table) expire(e *entry, now time.Time) bool {
	n := len(e.instances)
	for id, in := range e.instances {
		if in.Expired(now) {
			delete(e.instances, id)
		}
	}
	if len(e.instances) == n {
		return false
	}
	t.removed(e, now)
	return true
}

// removed moves e's index after instances left, and the catalog's when
// none is left. Callers hold mu.
func (t *Table) removed(e *entry, now time.Time) {
	t.moved(e, t.next(now))
	if len(e.instances) == 0 {
		t.setCatalog(t.next(now))
	}
}

// next is the index of a change made at now: one above every index the
// table has handed out (max), or the time if that is later. Indexes are
// then unique and ordered across services, so "changed after N" is
// "index above N" for the change feed. Callers hold mu.
func (t *Table) next(now time.Time) uint64 { return catalog.NextIndex(t.max, now) }

// Forget drops the tombstones of services removed at an index below
// before (unless someone waits on them). A forgotten service reads with
// index since again, so since moves up to the highest index forgotten, and
// no index goes backwards; the waiters of unknown services are woken then,
// so call Forget rarely (see ForgetEvery).
func (t *Table) Forget(before uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	forgot := t.since
	for name, e := range t.services {
		if len(e.instances) == 0 && e.index != 0 && e.index < before && e.waiters == 0 {
			delete(t.services, name)
			forgot = max(forgot, e.index)
		}
	}
	if forgot == t.since {
		return
	}
	t.since = forgot
	t.wakePlaceholders()
}

// wakePlaceholders wakes the waiters of services whose index is since
// (unknown ones, and tombstones older than since kept for their waiters):
// since moved. Callers hold mu.
func (t *Table) wakePlaceholders() {
	for _, e := range t.services {
		if len(e.instances) == 0 && e.index < t.since {
			t.wake(&e.changed)
		}
	}
}

// TombstoneTTL is how long a removed service is remembered: the change
// feed lists removals this far back, which is far more than a watcher's
// longest wait.
const TombstoneTTL = time.Hour

// ForgetEvery is how often tombstones are forgotten: each time may wake
// the waiters of services that do not exist, once.
const ForgetEvery = 10 * time.Minute
