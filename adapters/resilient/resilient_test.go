package resilient_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/memstore"
	"github.com/vertice/vertice/adapters/resilient"
	"github.com/vertice/vertice/domain/breaker"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
	"github.com/vertice/vertice/ports/portstest"
)

// flaky is a memory store that can be switched off, as Redis going away.
type flaky struct {
	ports.Store
	down  atomic.Bool
	calls atomic.Int64
}

var errConnRefused = errors.New("dial tcp 10.0.0.7:6379: connect: connection refused")

func (f *flaky) fail() error {
	f.calls.Add(1)
	if f.down.Load() {
		return fmt.Errorf("fake: %w: %w", ports.ErrUnavailable, errConnRefused)
	}
	return nil
}

func (f *flaky) Put(ctx context.Context, in catalog.Instance) (catalog.Change, error) {
	if err := f.fail(); err != nil {
		return catalog.Change{}, err
	}
	return f.Store.Put(ctx, in)
}

func (f *flaky) Renew(ctx context.Context, service, id string) (catalog.Instance, error) {
	if err := f.fail(); err != nil {
		return catalog.Instance{}, err
	}
	return f.Store.Renew(ctx, service, id)
}

func (f *flaky) Service(ctx context.Context, service string) (catalog.Service, error) {
	if err := f.fail(); err != nil {
		return catalog.Service{}, err
	}
	return f.Store.Service(ctx, service)
}

func (f *flaky) Catalog(ctx context.Context) (catalog.Catalog, error) {
	if err := f.fail(); err != nil {
		return catalog.Catalog{}, err
	}
	return f.Store.Catalog(ctx)
}

func (f *flaky) Delete(ctx context.Context, service, id string) (catalog.Change, error) {
	if err := f.fail(); err != nil {
		return catalog.Change{}, err
	}
	return f.Store.Delete(ctx, service, id)
}

const (
	openFor  = 30 * time.Second
	leaseTTL = 60 * time.Second
)

type rig struct {
	t     *testing.T
	ctx   context.Context
	clock *portstest.FakeClock
	back  *flaky
	s     *resilient.Store
}

func newRig(t *testing.T) *rig {
	clock := portstest.NewFakeClock(time.Unix(1_761_311_216, 0))
	back := &flaky{Store: memstore.New(clock)}
	s, err := resilient.New(back, clock, resilient.Settings{
		Breaker: breaker.Settings{Failures: 3, OpenFor: openFor}, Backend: "redis",
	})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, ctx: context.Background(), clock: clock, back: back, s: s}
}

func (r *rig) put(service, id string) {
	r.t.Helper()
	in := catalog.NewInstance(catalog.Registration{
		ServiceName: service, InstanceID: id, Endpoint: "http://" + id + ":8080", HealthEndpoint: "/health",
	}, r.clock.Now(), leaseTTL)
	if _, err := r.s.Put(r.ctx, in); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) ids(service string) ([]string, error) {
	snap, err := r.s.Service(r.ctx, service)
	ids := make([]string, len(snap.Instances))
	for i, in := range snap.Instances {
		ids[i] = in.InstanceID
	}
	sort.Strings(ids)
	return ids, err
}

// openBreaker takes the backend down and fails three reads.
func (r *rig) openBreaker() {
	r.t.Helper()
	r.back.down.Store(true)
	for i := 0; i < 3; i++ {
		_, _ = r.s.Service(r.ctx, "never_cached")
	}
	if got := r.s.State(); got != breaker.Open {
		r.t.Fatalf("breaker %v after 3 failures, want open", got)
	}
}

func wantUnavailable(t *testing.T, err error, retry time.Duration) {
	t.Helper()
	var ra interface{ RetryAfter() time.Duration }
	if !errors.Is(err, ports.ErrUnavailable) || !errors.As(err, &ra) {
		t.Fatalf("want ErrUnavailable with a retry hint, got %v", err)
	}
	if ra.RetryAfter() != retry {
		t.Fatalf("retry after %v, want %v", ra.RetryAfter(), retry)
	}
}

func TestContractOverMemory(t *testing.T) {
	portstest.RunStore(t, func(t *testing.T, clock ports.Clock) ports.Store {
		s, err := resilient.New(memstore.New(clock), clock, resilient.Settings{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestHealthyPassesThrough(t *testing.T) {
	r := newRig(t)
	r.put("nmap_service", "a")
	if ids, err := r.ids("nmap_service"); err != nil || fmt.Sprint(ids) != "[a]" {
		t.Fatalf("got %v, %v", ids, err)
	}
	if status, reason := r.s.Health(); status != resilient.Healthy || reason != "" {
		t.Fatalf("Health() = %q, %q", status, reason)
	}
}

func TestOpensAfterConsecutiveFailuresAndStopsCalling(t *testing.T) {
	r := newRig(t)
	r.openBreaker()
	before := r.back.calls.Load()
	_, err := r.s.Catalog(r.ctx)
	wantUnavailable(t, err, openFor)
	if !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("a rejected call should say the breaker is open: %v", err)
	}
	if r.back.calls.Load() != before {
		t.Fatal("an open breaker must not call the backend")
	}
	status, reason := r.s.Health()
	if status != resilient.Degraded || !strings.Contains(reason, "redis unreachable: circuit breaker open") {
		t.Fatalf("Health() = %q, %q", status, reason)
	}
}

func TestBackendErrorKeepsCause(t *testing.T) {
	r := newRig(t)
	r.back.down.Store(true)
	_, err := r.s.Service(r.ctx, "svc")
	wantUnavailable(t, err, time.Second) // breaker still closed: retry soon
	if !errors.Is(err, errConnRefused) {
		t.Fatalf("cause lost: %v", err)
	}
}

func TestWritesFailFastWhileOpen(t *testing.T) {
	r := newRig(t)
	r.openBreaker()
	r.clock.Advance(10 * time.Second)
	in := catalog.NewInstance(catalog.Registration{ServiceName: "svc", InstanceID: "a", Endpoint: "http://a:1"}, r.clock.Now(), leaseTTL)
	_, err := r.s.Put(r.ctx, in)
	wantUnavailable(t, err, openFor-10*time.Second)
	_, err = r.s.Renew(r.ctx, "svc", "a")
	wantUnavailable(t, err, openFor-10*time.Second)
	_, err = r.s.Delete(r.ctx, "svc", "")
	wantUnavailable(t, err, openFor-10*time.Second)
}

func TestHalfOpenProbeCloses(t *testing.T) {
	r := newRig(t)
	r.openBreaker()
	r.clock.Advance(openFor)
	if got := r.s.State(); got != breaker.HalfOpen {
		t.Fatalf("state %v after the open interval, want half-open", got)
	}
	if status, reason := r.s.Health(); status != resilient.Degraded || !strings.Contains(reason, "half-open") {
		t.Fatalf("Health() = %q, %q", status, reason)
	}
	r.back.down.Store(false)
	if _, err := r.s.Catalog(r.ctx); err != nil {
		t.Fatalf("probe: %v", err)
	}
	if got := r.s.State(); got != breaker.Closed {
		t.Fatalf("state %v after a good probe, want closed", got)
	}
}

func TestHalfOpenProbeFailureReopens(t *testing.T) {
	r := newRig(t)
	r.openBreaker()
	r.clock.Advance(openFor)
	_, err := r.s.Catalog(r.ctx) // the probe, still failing
	wantUnavailable(t, err, openFor)
	if got := r.s.State(); got != breaker.Open {
		t.Fatalf("state %v after a failed probe, want open", got)
	}
}

func TestNotFoundIsNotAFailure(t *testing.T) {
	r := newRig(t)
	for i := 0; i < 5; i++ {
		if _, err := r.s.Renew(r.ctx, "svc", "ghost"); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("want ErrNotFound, got %v", err)
		}
	}
	if got := r.s.State(); got != breaker.Closed {
		t.Fatalf("not-found answers opened the breaker: %v", got)
	}
}

func TestSuccessResetsTheCount(t *testing.T) {
	r := newRig(t)
	for round := 0; round < 3; round++ {
		r.back.down.Store(true)
		for i := 0; i < 2; i++ {
			_, _ = r.s.Catalog(r.ctx)
		}
		r.back.down.Store(false)
		if _, err := r.s.Catalog(r.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.s.State(); got != breaker.Closed {
		t.Fatalf("failures that were not consecutive opened the breaker: %v", got)
	}
}

func TestCancelledCallerIsNotABackendFailure(t *testing.T) {
	r := newRig(t)
	r.back.down.Store(true)
	ctx, cancel := context.WithCancel(r.ctx)
	cancel()
	for i := 0; i < 5; i++ {
		_, _ = r.s.Service(ctx, "svc")
	}
	if got := r.s.State(); got != breaker.Closed {
		t.Fatalf("cancelled callers opened the breaker: %v", got)
	}
}

func TestSettingsValidate(t *testing.T) {
	bad := []resilient.Settings{
		{Breaker: breaker.Settings{Failures: -1}},
		{Breaker: breaker.Settings{OpenFor: -time.Second}},
	}
	for _, s := range bad {
		if _, err := resilient.New(memstore.New(ports.SystemClock{}), ports.SystemClock{}, s); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}
