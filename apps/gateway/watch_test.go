package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/ginapi"
	"github.com/vertice/vertice/adapters/memstore"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/registry"
	"github.com/vertice/vertice/internal/envconf"
	"github.com/vertice/vertice/ports"
)

// The gateway follows the registry's change feed: a registration, a
// deregistration and a lease's end reach its routes within a second
// (asserted with slack here; bench:propagation measures), though CACHE_TTL
// is a minute.

// propagationBound is the slack on the promise of one second.
const propagationBound = 2 * time.Second

// watchedRegistry is a real registry (gin API, memory store with its
// watcher and reaper) on the system clock.
type watchedRegistry struct {
	svc *registry.Service
	url string
}

func newWatchedRegistry(t *testing.T, ttl time.Duration) *watchedRegistry {
	t.Helper()
	clock := ports.SystemClock{}
	store := memstore.New(clock)
	ctx, cancel := context.WithCancel(context.Background())
	svc := registry.New(store, store, clock, ttl)
	srv := httptest.NewServer(ginapi.New(ginapi.Options{Registry: svc, Context: ctx}))
	reaped := make(chan struct{})
	go func() {
		defer close(reaped)
		tick := time.NewTicker(ports.ReapInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				_ = store.Reap(ctx)
			}
		}
	}()
	t.Cleanup(func() { cancel(); srv.Close(); <-reaped })
	return &watchedRegistry{svc: svc, url: srv.URL}
}

func (r *watchedRegistry) register(t *testing.T, id, endpoint string) {
	t.Helper()
	if _, _, err := r.svc.Register(context.Background(), catalog.Registration{
		ServiceName: "nmap_service", InstanceID: id, Endpoint: endpoint}); err != nil {
		t.Fatal(err)
	}
}

// followingGateway runs the wired gateway with its feed follower, on the
// system clock, with a CACHE_TTL long enough that only the feed can make
// it notice a change in time.
func followingGateway(t *testing.T, registryURL string) string {
	t.Helper()
	env := map[string]string{"REGISTRY_URL": registryURL, "CACHE_TTL": "60s", "REGISTRY_WATCH_WAIT": "10s"}
	cfg, err := LoadConfig(envconf.Map(env), environOf(env))
	if err != nil {
		t.Fatal(err)
	}
	app, err := wire(cfg, ports.SystemClock{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); app.follow(ctx) }()
	srv := httptest.NewServer(app.handler)
	t.Cleanup(func() { cancel(); <-done; srv.Close() })
	deadline := time.Now().Add(5 * time.Second)
	for !app.router.Following() {
		if time.Now().After(deadline) {
			t.Fatal("the gateway does not follow the registry's feed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return srv.URL
}

// servedBy is the upstream name that answered one request, or "" on an
// error status.
func servedBy(t *testing.T, gw string) string {
	t.Helper()
	resp, err := http.Get(gw + "/v2/nmap_service/x")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	var b strings.Builder
	buf := make([]byte, 256)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	name, _, _ := strings.Cut(b.String(), " ")
	return name
}

// until sends requests until want holds for the set of instances served
// by the last few, and returns how long that took.
func until(t *testing.T, gw, what string, want func(seen map[string]bool) bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		seen := map[string]bool{}
		for range 4 { // round robin over at most two instances
			seen[servedBy(t, gw)] = true
		}
		if want(seen) {
			return time.Since(start)
		}
		if time.Since(start) > propagationBound {
			t.Fatalf("%s: not within %s (served by %v)", what, propagationBound, seen)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFollowingGatewayRoutesChangesWithinASecond(t *testing.T) {
	reg := newWatchedRegistry(t, time.Minute)
	a, b := newUpstream(t, "a"), newUpstream(t, "b")
	reg.register(t, "a", a.srv.URL)
	gw := followingGateway(t, reg.url)
	if got := servedBy(t, gw); got != "a" {
		t.Fatalf("first request served by %q", got)
	}
	reg.register(t, "b", b.srv.URL)
	took := until(t, gw, "a new instance gets traffic", func(seen map[string]bool) bool { return seen["b"] })
	t.Logf("a new instance routed %s after its registration (CACHE_TTL 60 s)", took)
	if _, err := reg.svc.Deregister(context.Background(), "nmap_service", "a"); err != nil {
		t.Fatal(err)
	}
	took = until(t, gw, "a deregistered instance gets none", func(seen map[string]bool) bool { return !seen["a"] && seen["b"] })
	t.Logf("a deregistered instance left the routes %s after its deregistration", took)
}

func TestFollowingGatewayDropsAnInstanceAtItsLeasesEnd(t *testing.T) {
	reg := newWatchedRegistry(t, time.Second)
	a := newUpstream(t, "a")
	reg.register(t, "a", a.srv.URL) // never renewed: the lease ends in 1 s
	gw := followingGateway(t, reg.url)
	leaseEnd := time.Now().Add(time.Second)
	if got := servedBy(t, gw); got != "a" {
		t.Fatalf("first request served by %q", got)
	}
	deadline := leaseEnd.Add(propagationBound)
	for servedBy(t, gw) == "a" {
		if time.Now().After(deadline) {
			t.Fatalf("still routed %s after the lease's end", time.Since(leaseEnd))
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("the last request to the instance was at most %s after its lease's end", time.Since(leaseEnd))
}
