package registryclient_test

import (
	"context"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/ginapi"
	"github.com/vertice/vertice/adapters/memstore"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/registry"
	"github.com/vertice/vertice/ports"

	"net/http/httptest"
)

// watchedRegistry serves the real API over a memory store that tells
// blocking reads when indexes move.
func watchedRegistry(t *testing.T, o ginapi.Options) *httptest.Server {
	t.Helper()
	clock := ports.SystemClock{}
	store := memstore.New(clock)
	o.Registry = registry.New(store, store, clock, time.Minute)
	srv := httptest.NewServer(ginapi.New(o))
	t.Cleanup(srv.Close)
	return srv
}

// TestLookupAtWaitsPastTheClientsTimeout: a blocking lookup of a service
// that is not there answers at once with an index (no error), then waits,
// longer than the client's own 2 s timeout, until the service appears.
func TestLookupAtWaitsPastTheClientsTimeout(t *testing.T) {
	srv := watchedRegistry(t, ginapi.Options{})
	c := newClient(t, srv.URL, "")
	ctx := context.Background()
	absent, err := c.LookupAt(ctx, "osint_service", 0, 0)
	if err != nil || absent.Found() || absent.Index == 0 || absent.Name != "osint_service" {
		t.Fatalf("absent service: %+v %v", absent, err)
	}
	got := make(chan catalog.Service, 1)
	go func() {
		snap, err := c.LookupAt(ctx, "osint_service", absent.Index, time.Minute)
		if err != nil {
			t.Error(err)
		}
		got <- snap
	}()
	select {
	case snap := <-got:
		t.Fatalf("answered before any change: %+v", snap)
	case <-time.After(2500 * time.Millisecond):
	}
	if err := c.Register(ctx, reg); err != nil {
		t.Fatal(err)
	}
	select {
	case snap := <-got:
		if !snap.Found() || snap.Instances[0].InstanceID != "osint-1" || snap.Index <= absent.Index {
			t.Fatalf("after the registration: %+v", snap)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the blocking lookup did not answer the registration")
	}
}

// TestLookupAtAnswersAtOnceWhenTheIndexMoved: a stale index is answered
// without waiting.
func TestLookupAtAnswersAtOnceWhenTheIndexMoved(t *testing.T) {
	srv := watchedRegistry(t, ginapi.Options{})
	c := newClient(t, srv.URL, "")
	ctx := context.Background()
	_ = c.Register(ctx, reg)
	first, err := c.LookupAt(ctx, "osint_service", 0, 0)
	if err != nil || !first.Found() {
		t.Fatalf("%+v %v", first, err)
	}
	start := time.Now()
	again, err := c.LookupAt(ctx, "osint_service", first.Index-1, time.Minute)
	if err != nil || again.Index != first.Index || time.Since(start) > 10*time.Second {
		t.Fatalf("%+v %v after %s", again, err, time.Since(start))
	}
}

func TestHealthReadsTheReplica(t *testing.T) {
	srv := watchedRegistry(t, ginapi.Options{Backend: "redis", Topology: "sentinel", Version: "v9.9.9",
		Health: func(context.Context) ginapi.Health {
			return ginapi.Health{Status: "degraded", Reason: "backend unavailable", Breaker: "open", Notifications: "up"}
		}})
	h, err := newClient(t, srv.URL, "").Health(context.Background())
	if err != nil || h.Healthy() || h.Status != "degraded" || h.Reason != "backend unavailable" || h.Backend != "redis" ||
		h.Topology != "sentinel" || h.Breaker != "open" || h.Notifications != "up" || h.Version != "v9.9.9" {
		t.Fatalf("%+v %v", h, err)
	}
}

// TestDeregisterWholeService: without an instance ID every instance of the
// service goes (DELETE /services/{name}, not /services/{name}/).
func TestDeregisterWholeService(t *testing.T) {
	srv, svc := newRegistry(t, "")
	c := newClient(t, srv.URL, "")
	ctx := context.Background()
	for _, id := range []string{"a", "b"} {
		r := reg
		r.InstanceID = id
		if err := c.Register(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Deregister(ctx, "osint_service", ""); err != nil {
		t.Fatalf("Deregister of the whole service: %v", err)
	}
	if snap, err := svc.Lookup(ctx, "osint_service", registry.Block{}); err == nil {
		t.Fatalf("still registered: %+v", snap.Instances)
	}
}
