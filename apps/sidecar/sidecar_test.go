package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/ginapi"
	"github.com/vertice/vertice/adapters/memstore"
	"github.com/vertice/vertice/domain/registry"
	"github.com/vertice/vertice/internal/testkit/poll"
	"github.com/vertice/vertice/ports"
)

// Short schedule so the suite stays fast; every deadline below is derived
// from these, plus slack for a loaded machine running -race.
const (
	interval   = 200 * time.Millisecond
	backoffMax = 300 * time.Millisecond
	leaseTTL   = time.Second
	slack      = 700 * time.Millisecond
)

// fakeRegistry is the real registry API over a memory store, which a test
// can take down (503) or restart empty (forgetting every instance).
type fakeRegistry struct {
	t       *testing.T
	srv     *httptest.Server
	api     atomic.Pointer[http.Handler]
	down    atomic.Bool
	refused atomic.Int64 // requests answered 503 while down
}

func newFakeRegistry(t *testing.T) *fakeRegistry {
	r := &fakeRegistry{t: t}
	r.forget()
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(func() { r.srv.Close() })
	return r
}

func (r *fakeRegistry) serve(w http.ResponseWriter, req *http.Request) {
	if r.down.Load() {
		r.refused.Add(1)
		http.Error(w, `{"detail":"store unavailable"}`, http.StatusServiceUnavailable)
		return
	}
	(*r.api.Load()).ServeHTTP(w, req)
}

// forget swaps in a fresh, empty registry, as a restart of the in-memory
// registry does.
func (r *fakeRegistry) forget() {
	clock := ports.SystemClock{}
	h := ginapi.New(ginapi.Options{Registry: registry.New(memstore.New(clock), nil, clock, leaseTTL)})
	r.api.Store(&h)
}

// lookup returns GET /services/{name}'s status and metadata.status.
func (r *fakeRegistry) lookup(name string) (code int, status string) {
	resp, err := http.Get(r.srv.URL + "/services/" + name)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	var body struct {
		Metadata map[string]string `json:"metadata"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Metadata["status"]
}

// fakeService answers /health with 200 or 503 and counts the probes.
type fakeService struct {
	srv    *httptest.Server
	sick   atomic.Bool
	probes atomic.Int64
}

func newFakeService(t *testing.T, healthy bool) *fakeService {
	s := &fakeService{}
	s.sick.Store(!healthy)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.probes.Add(1)
		if s.sick.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

type sidecar struct {
	cancel     context.CancelFunc
	done       chan error
	statusAddr string
}

// startSidecar runs the whole app (config → wire → agent + status server)
// in-process and stops it at the end of the test.
func startSidecar(t *testing.T, reg *fakeRegistry, svc *fakeService) *sidecar {
	t.Helper()
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(svc.srv.URL, "http://"))
	env := map[string]string{
		"SERVICE_NAME": "demo_service", "SERVICE_HOST": host, "SERVICE_PORT": port,
		"REGISTRY_URL": reg.srv.URL, "HEARTBEAT_INTERVAL": interval.String(), "INITIAL_WAIT_TIMEOUT": "10s",
		"REGISTRATION_BACKOFF_MAX": backoffMax.String(), "REGISTRY_TIMEOUT": "1s", "SIDECAR_ADDR": "127.0.0.1:0",
		"SERVICE_METADATA": "version=1.0.0",
	}
	cfg, err := load(env)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &sidecar{cancel: cancel, done: make(chan error, 1)}
	ready := make(chan net.Addr, 1)
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() { s.done <- run(ctx, cfg, log, ready) }()
	select {
	case addr := <-ready:
		s.statusAddr = addr.String()
	case err := <-s.done:
		t.Fatalf("sidecar did not start: %v", err)
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop cancels (as SIGTERM does) and waits for run to return.
func (s *sidecar) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("run returned %v", err)
		}
		s.done <- nil // let a second stop return at once
	case <-time.After(10 * time.Second):
		t.Fatal("sidecar did not stop within 10s of cancel")
	}
}

// eventually polls cond until it holds or within passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	poll.Eventually(t, within, what, poll.Holds(cond))
}

func registeredAs(reg *fakeRegistry, want string) func() bool {
	return func() bool { code, status := reg.lookup("demo_service"); return code == 200 && status == want }
}

func TestRegistersWithinOneSecondOfTheServiceBecomingHealthy(t *testing.T) {
	reg, svc := newFakeRegistry(t), newFakeService(t, false)
	startSidecar(t, reg, svc)
	eventually(t, 5*time.Second, "two probes of the sick service", func() bool { return svc.probes.Load() >= 2 })
	if code, _ := reg.lookup("demo_service"); code != http.StatusNotFound {
		t.Fatalf("registered (%d) while the service had never answered 200", code)
	}
	svc.sick.Store(false)
	eventually(t, time.Second, "registered healthy after the service turned healthy", registeredAs(reg, "healthy"))
}

func TestForgottenInstanceIsRegisteredAgainWithinOneHeartbeat(t *testing.T) {
	reg, svc := newFakeRegistry(t), newFakeService(t, true)
	startSidecar(t, reg, svc)
	eventually(t, 2*time.Second, "first registration", registeredAs(reg, "healthy"))
	reg.forget()
	eventually(t, interval+slack, "re-registration after the registry forgot", registeredAs(reg, "healthy"))
}

func TestRegistryDownAtStartIsJoinedWithinTheBackoffCapOfItsReturn(t *testing.T) {
	reg, svc := newFakeRegistry(t), newFakeService(t, true)
	reg.down.Store(true)
	startSidecar(t, reg, svc)
	// Enough refused attempts for the backoff to have reached its cap.
	eventually(t, 5*time.Second, "registration retries", func() bool { return reg.refused.Load() >= 5 })
	reg.down.Store(false)
	eventually(t, backoffMax+slack, "registered after the registry came back", registeredAs(reg, "healthy"))
}

func TestRegistryRestartAfterAnOutageSeesTheInstanceBack(t *testing.T) {
	reg, svc := newFakeRegistry(t), newFakeService(t, true)
	s := startSidecar(t, reg, svc)
	eventually(t, 2*time.Second, "first registration", registeredAs(reg, "healthy"))

	// A real outage: the port stops answering until the sidecar has failed
	// heartbeats for longer than the lease, then an empty registry comes
	// back on the same address.
	addr := reg.srv.Listener.Addr().String()
	reg.srv.Close()
	failures := func() float64 { return sidecarMetric(s, "vertice_sidecar_heartbeat_failures_total") }
	before := failures()
	eventually(t, leaseTTL+2*interval+slack, "heartbeats failing past the lease", func() bool {
		return failures() >= before+float64(leaseTTL/(interval/2))
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("cannot listen again on %s: %v", addr, err)
	}
	reg.forget()
	reg.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(reg.serve)}}
	reg.srv.Start()
	// Heartbeat retries are at most interval/2 apart; the first one after
	// the return gets 404 and registers at once.
	eventually(t, interval/2+slack, "registered after the restart", registeredAs(reg, "healthy"))
}

// sidecarMetric reads one value from the sidecar's /metrics (-1 if absent).
func sidecarMetric(s *sidecar, name string) float64 {
	resp, err := http.Get("http://" + s.statusAddr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}

func TestCancelRemovesTheInstanceAtOnce(t *testing.T) {
	reg, svc := newFakeRegistry(t), newFakeService(t, true)
	s := startSidecar(t, reg, svc)
	eventually(t, 2*time.Second, "first registration", registeredAs(reg, "healthy"))
	s.stop(t)
	// run returned only after deregistering: no polling needed.
	if code, _ := reg.lookup("demo_service"); code != http.StatusNotFound {
		t.Fatalf("lookup after stop answered %d, want 404 (deregistered, not left to expire)", code)
	}
}

func TestSickServiceIsReportedUnhealthyWithinOneInterval(t *testing.T) {
	reg, svc := newFakeRegistry(t), newFakeService(t, true)
	startSidecar(t, reg, svc)
	eventually(t, 2*time.Second, "first registration", registeredAs(reg, "healthy"))
	svc.sick.Store(true)
	eventually(t, interval+slack, "status unhealthy in the registry", registeredAs(reg, "unhealthy"))
	svc.sick.Store(false)
	eventually(t, interval+slack, "status healthy again", registeredAs(reg, "healthy"))
}

func TestStatusServerSaysWhetherTheInstanceIsRegistered(t *testing.T) {
	reg, svc := newFakeRegistry(t), newFakeService(t, true)
	reg.down.Store(true)
	s := startSidecar(t, reg, svc)
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + s.statusAddr + path)
		if err != nil {
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	eventually(t, 5*time.Second, "a refused registration", func() bool { return reg.refused.Load() >= 1 })
	if code, body := get("/health"); code != http.StatusServiceUnavailable || !strings.Contains(body, `"registered":false`) {
		t.Fatalf("unregistered sidecar's /health: %d %s", code, body)
	}
	if _, body := get("/metrics"); !strings.Contains(body, "vertice_sidecar_last_renewal_timestamp_seconds 0\n") {
		t.Fatalf("no renewal yet, the timestamp must be 0: %s", body)
	}
	reg.down.Store(false)
	eventually(t, backoffMax+slack, "/health 200 once registered", func() bool { code, _ := get("/health"); return code == 200 })
	eventually(t, 2*interval+slack, "a heartbeat counted in /metrics", func() bool {
		_, body := get("/metrics")
		return strings.Contains(body, "vertice_sidecar_registered 1") && !strings.Contains(body, "vertice_sidecar_heartbeats_total 0")
	})
	_, body := get("/metrics")
	var last float64
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, "vertice_sidecar_last_renewal_timestamp_seconds "); ok {
			last, _ = strconv.ParseFloat(v, 64)
		}
	}
	if age := time.Since(time.Unix(0, int64(last*1e9))); age < 0 || age > 2*interval+slack {
		t.Fatalf("last renewal should be recent, got %v ago (%s)", age, body)
	}
}

// BenchmarkStatusHealth measures the status endpoint a healthcheck calls.
func BenchmarkStatusHealth(b *testing.B) {
	cfg, _ := load(map[string]string{"SERVICE_NAME": "bench", "SERVICE_HOST": "127.0.0.1", "SERVICE_PORT": strconv.Itoa(1)})
	app, err := wire(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/health", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		app.status.ServeHTTP(rec, req)
		if rec.Code == 0 {
			b.Fatal("no status")
		}
	}
}
