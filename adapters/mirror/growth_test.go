package mirror_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vertice/vertice/domain/view"
	"github.com/vertice/vertice/internal/testkit/dockertest"
	"github.com/vertice/vertice/ports/portstest"
)

// Issue 12, item 7: a replica's copy of the catalog does not keep every
// service it ever saw. A thousand services registered through replica A
// expire; both copies (A's, which applied its own writes, and B's, which
// only heard of them) hold their tombstones for the change feed, and
// forget them once the store forgets the removals, after
// view.TombstoneTTL (a fake clock drives the store and the copies).
func TestCopiesForgetExpiredServices(t *testing.T) {
	addr := dockertest.StartRedis(t).MustAddr(t)
	clock := portstest.NewFakeClock(time.Now().Truncate(time.Millisecond))
	prefix := uniquePrefix()
	a := newReplica(t, addr, addr, prefix, clock)
	b := newReplica(t, addr, addr, prefix, clock)
	ctx := context.Background()
	const n = 1000
	for i := range n {
		if _, err := a.Put(ctx, instance(clock, fmt.Sprintf("svc_%d", i), "x")); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 20*time.Second, "both copies hold the thousand services", func() bool {
		return a.Held() == n && b.Held() == n
	})
	// Every lease ends; the reaper removes up to 256 services a round.
	clock.Advance(2 * time.Minute)
	for range n/256 + 1 {
		if err := a.store.Reap(ctx); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 30*time.Second, "every service removed from both copies", func() bool {
		ca, _ := a.Catalog(ctx)
		cb, _ := b.Catalog(ctx)
		return len(ca.Services) == 0 && len(cb.Services) == 0 && len(ca.Removed) == n && len(cb.Removed) == n
	})
	if a.Held() != n || b.Held() != n {
		t.Fatalf("tombstones: A holds %d, B %d; want %d each (the change feed lists removals)", a.Held(), b.Held(), n)
	}
	clock.Advance(view.TombstoneTTL + view.ForgetEvery)
	if err := a.store.Reap(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "both copies forget the removed services", func() bool { return a.Held() == 0 && b.Held() == 0 })
	cat, err := b.Catalog(ctx)
	if err != nil || len(cat.Removed) != 0 || cat.Since <= 1 {
		t.Fatalf("after forgetting: %d removed, since %d (%v)", len(cat.Removed), cat.Since, err)
	}
	snap, err := b.Service(ctx, "svc_7")
	if err != nil || snap.Found() || snap.Index < cat.Since {
		t.Fatalf("a forgotten service reads with index since (%d): %+v %v", cat.Since, snap, err)
	}
}
