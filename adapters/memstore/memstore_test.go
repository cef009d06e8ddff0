package memstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/memstore"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/view"
	"github.com/vertice/vertice/ports"
	"github.com/vertice/vertice/ports/portstest"
)

func TestStoreContract(t *testing.T) {
	portstest.RunStore(t, func(_ *testing.T, clock ports.Clock) ports.Store {
		return memstore.New(clock)
	})
}

func TestStoreLimitContract(t *testing.T) {
	portstest.RunStoreLimit(t, func(_ *testing.T, clock ports.Clock, maxInstances int) ports.Store {
		return memstore.New(clock, memstore.WithMaxInstances(maxInstances))
	})
}

func TestWatcherContract(t *testing.T) {
	portstest.RunWatcher(t, func(_ *testing.T, clock ports.Clock) portstest.WatchedStore {
		return memstore.New(clock)
	})
}

// Issue 12, item 7: the registry's state does not grow with every service
// ever seen. A thousand services that come and go leave tombstones (the
// change feed lists removals), and those are forgotten after
// view.TombstoneTTL: the reaper running every minute of a fake clock
// leaves nothing behind.
func TestExpiredServicesAreForgotten(t *testing.T) {
	clock := portstest.NewFakeClock(time.Unix(1_761_310_133, 0))
	s := memstore.New(clock)
	ctx := context.Background()
	const n = 1000
	for i := range n {
		in := catalog.NewInstance(catalog.Registration{ServiceName: fmt.Sprintf("svc_%d", i), InstanceID: "x",
			Endpoint: "http://x:1", HealthEndpoint: "/health"}, clock.Now(), time.Minute)
		if _, err := s.Put(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	reapFor := func(d time.Duration) {
		for end := clock.Now().Add(d); clock.Now().Before(end); {
			clock.Advance(time.Minute)
			if err := s.Reap(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	reapFor(2 * time.Minute)
	cat, _ := s.Catalog(ctx)
	if len(cat.Services) != 0 || len(cat.Removed) != n || s.Len() != n {
		t.Fatalf("after the leases: %d live, %d removed, %d held; want 0, %d, %d", len(cat.Services), len(cat.Removed), s.Len(), n, n)
	}
	reapFor(view.TombstoneTTL + view.ForgetEvery)
	cat, _ = s.Catalog(ctx)
	if len(cat.Removed) != 0 || s.Len() != 0 {
		t.Fatalf("after the tombstone window: %d removed, %d services held; want none", len(cat.Removed), s.Len())
	}
}
