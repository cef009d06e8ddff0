package view

import (
	"testing"
	"time"

	"github.com/vertice/vertice/domain/catalog"
)

var t0 = time.Unix(1_761_310_133, 0)

func inst(service, id string, at time.Time) catalog.Instance {
	return catalog.NewInstance(catalog.Registration{ServiceName: service, InstanceID: id,
		Endpoint: "http://" + id + ":8080"}, at, time.Minute)
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Indexes come from one sequence: unique and ordered across services,
// even when the clock stands still.
func TestIndexesAreOneSequence(t *testing.T) {
	tb := New(catalog.NextIndex(0, t0))
	seen := map[uint64]bool{}
	last := uint64(0)
	for i, svc := range []string{"a", "b", "a", "c", "b"} {
		ch := tb.Put(inst(svc, "x", t0), t0)
		if seen[ch.Index] || ch.Index <= last {
			t.Fatalf("write %d: index %d after %d (seen %v)", i, ch.Index, last, seen[ch.Index])
		}
		seen[ch.Index], last = true, max(ch.Index, tb.CatalogIndex())
	}
}

func TestPlaceholderWaitersComeAndGo(t *testing.T) {
	tb := New(10)
	ch, release := tb.WaitService("ghost", 10)
	if isClosed(ch) || len(tb.services) != 1 {
		t.Fatal("a wait on an unknown service holds a placeholder")
	}
	release()
	if len(tb.services) != 0 {
		t.Fatal("the placeholder outlived its last waiter")
	}
	ch, release = tb.WaitService("ghost", 10)
	defer release()
	tb.Put(inst("ghost", "x", t0), t0)
	if !isClosed(ch) {
		t.Fatal("the service appearing must wake its waiters")
	}
}

// Forgetting tombstones moves since to the highest index forgotten, so an
// unknown service's index never goes below what it was before.
func TestForgetNeverMovesIndexesBack(t *testing.T) {
	tb := New(catalog.NextIndex(0, t0))
	tb.Put(inst("gone", "x", t0), t0)
	tb.Delete("gone", "", t0)
	removed := tb.Index("gone")
	unknown, release := tb.WaitService("never_seen", tb.Index("never_seen"))
	defer release()
	tb.Forget(removed + 1)
	if got := tb.Index("gone"); got < removed {
		t.Fatalf("forgotten service reads %d, below its removal index %d", got, removed)
	}
	if cat := tb.Catalog(t0, false); len(cat.Removed) != 0 || cat.Since != removed {
		t.Fatalf("after Forget: removed %v since %d, want none and %d", cat.Removed, cat.Since, removed)
	}
	if !isClosed(unknown) {
		t.Fatal("the waiters of unknown services must learn that since moved")
	}
}

// Reset wakes every waiter and keeps the placeholders of those still
// waiting.
func TestResetWakesWaiters(t *testing.T) {
	tb := New(1)
	tb.Replace(catalog.Service{Name: "a", Index: 5, Instances: []catalog.Instance{inst("a", "x", t0)}})
	onA, releaseA := tb.WaitService("a", 5)
	onGhost, releaseGhost := tb.WaitService("ghost", 1)
	any, _ := tb.WaitAny(tb.MaxIndex())
	tb.Reset(catalog.Catalog{Index: 9, Services: []catalog.ServiceIndex{{Name: "a", Index: 5}}, Since: 1},
		[]catalog.Service{{Name: "a", Index: 5, Instances: []catalog.Instance{inst("a", "x", t0)}}})
	if !isClosed(onA) || !isClosed(onGhost) || !isClosed(any) {
		t.Fatal("Reset must wake every waiter")
	}
	if tb.CatalogIndex() != 9 || len(tb.Service("a", t0).Instances) != 1 {
		t.Fatal("Reset did not load the new read")
	}
	releaseGhost()
	releaseA()
	if _, ok := tb.services["ghost"]; ok {
		t.Fatal("the placeholder carried over by Reset outlived its waiter")
	}
}

// Apply takes the copy's own write only from where the write started.
func TestApplyNeedsTheWritesStartingPoint(t *testing.T) {
	tb := New(1)
	tb.Replace(catalog.Service{Name: "a", Index: 5, Instances: []catalog.Instance{inst("a", "x", t0)}})
	add := func(m map[string]catalog.Instance) { m["y"] = inst("a", "y", t0) }
	if tb.Apply("a", catalog.Change{Prev: 4, Index: 7}, add) {
		t.Fatal("a write from index 4 applied on a copy at 5")
	}
	if !tb.Apply("a", catalog.Change{Prev: 5, Index: 7, Catalog: 8}, add) || tb.Index("a") != 7 || tb.CatalogIndex() != 8 {
		t.Fatal("a write from the copy's index must apply, with its catalog index")
	}
	if !tb.Apply("a", catalog.Change{Prev: 5, Index: 7}, add) {
		t.Fatal("a write already seen (by notice) is applied")
	}
}

func TestExpireMovesIndexesOfEndedLeasesOnly(t *testing.T) {
	tb := New(catalog.NextIndex(0, t0))
	tb.Put(inst("a", "x", t0), t0)
	tb.Put(inst("b", "y", t0.Add(30*time.Second)), t0.Add(30*time.Second))
	ia, ib := tb.Index("a"), tb.Index("b")
	changed := tb.Expire(t0.Add(time.Minute))
	if len(changed) != 1 || changed[0] != "a" || tb.Index("a") <= ia || tb.Index("b") != ib {
		t.Fatalf("Expire at a's lease end changed %v (a %d→%d, b %d→%d)", changed, ia, tb.Index("a"), ib, tb.Index("b"))
	}
}
