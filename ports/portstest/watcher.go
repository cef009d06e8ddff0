package portstest

import (
	"testing"
	"time"

	"github.com/vertice/vertice/ports"
)

// WatchedStore is a store that is also the watcher of its own changes
// (the memory store; a replica's copy of Redis).
type WatchedStore interface {
	ports.Store
	ports.Watcher
}

// NewWatchedStore builds an empty WatchedStore judging expiry by clock.
type NewWatchedStore func(t *testing.T, clock ports.Clock) WatchedStore

// wakeBound is how long a watcher may take to see a change: generous, as
// a copy of Redis learns changes over the network.
const wakeBound = 2 * time.Second

// RunWatcher is the contract of every ports.Watcher: a change wakes the
// waiters of what changed, and nothing else does.
func RunWatcher(t *testing.T, newStore NewWatchedStore) {
	cases := []struct {
		name string
		run  func(*testing.T, WatchedStore, *FakeClock)
	}{
		{"ChangeWakesServiceWaiters", testWakeOnChange},
		{"RenewalWakesNobody", testRenewalWakesNobody},
		{"AppearanceWakesWaitersOfAnAbsentService", testWakeOnAppearance},
		{"CatalogWaitersWakeOnlyWhenServicesComeAndGo", testCatalogWaiters},
		{"AnyChangeWakesTheFeed", testWaitAny},
		{"StaleIndexWakesAtOnce", testStaleIndex},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := NewFakeClock(time.Now().Truncate(time.Millisecond))
			c.run(t, newStore(t, clock), clock)
		})
	}
}

func wantClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(wakeBound):
		t.Fatalf("%s: the watcher was not woken within %s", what, wakeBound)
	}
}

func wantOpen(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
		t.Fatalf("%s: the watcher was woken", what)
	default:
	}
}

// settle registers an instance of a marker service and waits until the
// watcher has seen it: a watcher sees changes in order, so everything
// before it has been seen too, and a waiter still open now was not woken
// by it. The first settle makes the marker service appear (a catalog
// change); later ones do not.
func settle(t *testing.T, s WatchedStore, clock *FakeClock) {
	t.Helper()
	ch, release := s.WaitService("settle_marker", lookup(t, s, "settle_marker").Index)
	defer release()
	put(t, s, inst(clock, "settle_marker", "m"))
	wantClosed(t, ch, "the marker's change")
}

func waitSvc(t *testing.T, s WatchedStore, service string) (<-chan struct{}, func()) {
	t.Helper()
	return s.WaitService(service, lookup(t, s, service).Index)
}

func testWakeOnChange(t *testing.T, s WatchedStore, clock *FakeClock) {
	put(t, s, inst(clock, "svc", "a"))
	other, releaseOther := waitSvc(t, s, "other")
	defer releaseOther()
	for _, c := range []struct {
		what   string
		change func()
	}{
		{"register", func() { put(t, s, inst(clock, "svc", "b")) }},
		{"re-register", func() { put(t, s, inst(clock, "svc", "b")) }},
		{"deregister", func() { del(t, s, "svc", "b") }},
	} {
		clock.Advance(time.Millisecond)
		ch, release := waitSvc(t, s, "svc")
		wantOpen(t, ch, c.what+" (before)")
		c.change()
		wantClosed(t, ch, c.what)
		release()
	}
	settle(t, s, clock)
	wantOpen(t, other, "changes to svc, for a waiter on other")
}

func testRenewalWakesNobody(t *testing.T, s WatchedStore, clock *FakeClock) {
	put(t, s, inst(clock, "svc", "a"))
	ch, release := waitSvc(t, s, "svc")
	defer release()
	clock.Advance(10 * time.Second)
	renew(t, s, "svc", "a")
	settle(t, s, clock)
	wantOpen(t, ch, "a renewal")
	if got := one(t, s, "svc"); !got.LastHeartbeat.Equal(clock.Now()) {
		t.Fatalf("the renewal must still be visible: last heartbeat %v want %v", got.LastHeartbeat, clock.Now())
	}
}

func testWakeOnAppearance(t *testing.T, s WatchedStore, clock *FakeClock) {
	ch, release := waitSvc(t, s, "ghost")
	defer release()
	settle(t, s, clock)
	wantOpen(t, ch, "another service's changes")
	put(t, s, inst(clock, "ghost", "a"))
	wantClosed(t, ch, "the service appearing")
}

func testCatalogWaiters(t *testing.T, s WatchedStore, clock *FakeClock) {
	ch, release := s.WaitCatalog(readCatalog(t, s).Index)
	put(t, s, inst(clock, "svc", "a"))
	wantClosed(t, ch, "a service appearing")
	release()
	settle(t, s, clock) // the marker service appears before the wait
	ch, release = s.WaitCatalog(readCatalog(t, s).Index)
	defer release()
	put(t, s, inst(clock, "svc", "b"))
	renew(t, s, "svc", "a")
	del(t, s, "svc", "b")
	settle(t, s, clock)
	wantOpen(t, ch, "instances of a live service coming and going")
	del(t, s, "svc", "")
	wantClosed(t, ch, "a service disappearing")
}

func testWaitAny(t *testing.T, s WatchedStore, clock *FakeClock) {
	put(t, s, inst(clock, "svc", "a"))
	ch, release := s.WaitAny(readCatalog(t, s).MaxIndex())
	defer release()
	clock.Advance(time.Millisecond)
	put(t, s, inst(clock, "svc", "b"))
	wantClosed(t, ch, "a change to any service")
}

func testStaleIndex(t *testing.T, s WatchedStore, clock *FakeClock) {
	put(t, s, inst(clock, "svc", "a"))
	idx := lookup(t, s, "svc").Index
	ch, release := s.WaitService("svc", idx-1)
	defer release()
	wantClosed(t, ch, "an index that is not the current one")
}
