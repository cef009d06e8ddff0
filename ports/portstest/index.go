package portstest

import (
	"context"
	"testing"
	"time"

	"github.com/vertice/vertice/ports"
)

// testIndexes: a service's index moves on every change of what a lookup
// answers and never on a renewal; it is >= 1, even for a service never
// registered, and never goes backwards.
func testIndexes(t *testing.T, s ports.Store, clock *FakeClock) {
	before := lookup(t, s, "svc").Index
	step := func(what string, change func()) uint64 {
		t.Helper()
		clock.Advance(time.Millisecond)
		prev := lookup(t, s, "svc").Index
		change()
		now := lookup(t, s, "svc").Index
		if now <= prev {
			t.Fatalf("%s: index went from %d to %d, want it to move forward", what, prev, now)
		}
		return now
	}
	ch := putChange(t, s, inst(clock, "svc", "a"))
	if got := lookup(t, s, "svc").Index; (ch.Prev != 0 && ch.Prev != before) || ch.Index != got {
		t.Fatalf("Put's change %+v: want Prev 0 (never seen) or %d (the index before), and Index %d (the index after)",
			ch, before, got)
	}
	step("second instance", func() { put(t, s, inst(clock, "svc", "b")) })
	idx := step("re-register", func() { put(t, s, inst(clock, "svc", "a")) })
	clock.Advance(time.Second)
	renew(t, s, "svc", "a")
	renew(t, s, "svc", "b")
	if got := lookup(t, s, "svc").Index; got != idx {
		t.Fatalf("renewals moved the index from %d to %d", idx, got)
	}
	step("deregister one", func() { del(t, s, "svc", "a") })
	last := step("deregister the last", func() { del(t, s, "svc", "") })
	if before >= last {
		t.Fatalf("index of the absent service was %d before and %d after its life", before, last)
	}
	if got := lookup(t, s, "svc").Index; got != last {
		t.Fatalf("a removed service keeps its removal index: got %d want %d", got, last)
	}
}

// testCatalogIndex: the catalog's index moves when a service appears or
// disappears, not when a live service gains an instance; a removed
// service is listed among Removed with its removal index.
func testCatalogIndex(t *testing.T, s ports.Store, clock *FakeClock) {
	c0 := readCatalog(t, s).Index
	if c0 == 0 {
		t.Fatal("the catalog index must be >= 1")
	}
	clock.Advance(time.Millisecond)
	put(t, s, inst(clock, "svc", "a"))
	c1 := readCatalog(t, s).Index
	if c1 <= c0 {
		t.Fatalf("a new service must move the catalog index: %d -> %d", c0, c1)
	}
	clock.Advance(time.Millisecond)
	put(t, s, inst(clock, "svc", "b"))
	renew(t, s, "svc", "a")
	if c := readCatalog(t, s).Index; c != c1 {
		t.Fatalf("a second instance moved the catalog index: %d -> %d", c1, c)
	}
	clock.Advance(time.Millisecond)
	del(t, s, "svc", "")
	cat := readCatalog(t, s)
	if cat.Index <= c1 {
		t.Fatalf("a service gone must move the catalog index: %d -> %d", c1, cat.Index)
	}
	svcIndex := lookup(t, s, "svc").Index
	if len(cat.Removed) != 1 || cat.Removed[0].Name != "svc" || cat.Removed[0].Index != svcIndex {
		t.Fatalf("want svc removed at %d, got %+v", svcIndex, cat.Removed)
	}
	if cat.MaxIndex() < svcIndex {
		t.Fatalf("MaxIndex %d below a service's index %d", cat.MaxIndex(), svcIndex)
	}
}

// testReapMovesIndex: a lease's end is a change. Once the lease is over a
// Reap moves the service's index and the catalog's.
func testReapMovesIndex(t *testing.T, s ports.Store, clock *FakeClock) {
	r, ok := s.(ports.Reaper)
	if !ok {
		t.Fatalf("%T keeps its own truth and must implement ports.Reaper", s)
	}
	put(t, s, inst(clock, "svc", "a"))
	idx, cidx := lookup(t, s, "svc").Index, readCatalog(t, s).Index
	clock.Advance(leaseTTL + time.Millisecond)
	noErr(t, r.Reap(context.Background()))
	// A copy of a shared store learns of the reap by notice: allow it
	// wakeBound; a store that is the truth answers at once.
	deadline := time.Now().Add(wakeBound)
	for lookup(t, s, "svc").Index <= idx || readCatalog(t, s).Index <= cidx {
		if time.Now().After(deadline) {
			t.Fatalf("expiry did not move the service's index (%d -> %d) and the catalog's (%d -> %d)",
				idx, lookup(t, s, "svc").Index, cidx, readCatalog(t, s).Index)
		}
		time.Sleep(10 * time.Millisecond)
	}
	wantAbsent(t, s, "svc")
}
