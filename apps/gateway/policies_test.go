package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/proxy"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/registry"
	"github.com/vertice/vertice/internal/envconf"
	"github.com/vertice/vertice/ports"
)

// Component tests of the traffic policies: the wired gateway, a real
// registry in the process, httptest upstreams.

func registerVersion(t *testing.T, svc *registry.Service, id, endpoint, version string) {
	t.Helper()
	if _, _, err := svc.Register(context.Background(), catalog.Registration{ServiceName: "nmap_service", InstanceID: id,
		Endpoint: endpoint, Metadata: map[string]string{catalog.VersionKey: version}}); err != nil {
		t.Fatal(err)
	}
}

// spread sends n requests from workers goroutines at once and counts the
// answers by upstream name (by status when not 200).
func spread(t *testing.T, url string, n, workers int, header map[string]string) map[string]int {
	t.Helper()
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n/workers + min(1, max(0, n%workers-w)) {
				who := fetch(url, header)
				mu.Lock()
				got[who]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return got
}

// fetch is the upstream name that answered, or the status (or error) when
// the gateway did not answer 200.
func fetch(url string, header map[string]string) string {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 512)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("status %d", resp.StatusCode)
	}
	name, _, _ := strings.Cut(b.String(), " ")
	return name
}

func TestCanarySplitNinetyTenOverAThousandRequests(t *testing.T) {
	reg := newRegistry(t)
	stable1, stable2, canary := newUpstream(t, "stable"), newUpstream(t, "stable"), newUpstream(t, "canary")
	registerVersion(t, reg.svc, "s1", stable1.srv.URL, "1.0.0")
	registerVersion(t, reg.svc, "s2", stable2.srv.URL, "1.0.0")
	registerVersion(t, reg.svc, "c1", canary.srv.URL, "1.1.0")
	other := newUpstream(t, "unversioned") // no version: not in the split, gets nothing
	reg.register(t, "nmap_service", "u1", other.srv.URL, "")
	gw := newGateway(t, reg.srv.URL, map[string]string{"NMAP_SERVICE_VERSIONS": "1.0.0:90,1.1.0:10"})
	got := spread(t, gw.url+"/v2/nmap_service/x", 1000, 4, nil)
	t.Logf("1,000 requests: %v", got)
	if got["stable"]+got["canary"] != 1000 || got["canary"] < 70 || got["canary"] > 130 {
		t.Fatalf("answers %v, want every one from 1.0.0 or 1.1.0 and 100 ± 30 (±3 %%) from the canary", got)
	}
	if d := stable1.hits.Load() - stable2.hits.Load(); d < -2 || d > 2 {
		t.Fatalf("the two 1.0.0 instances served %d and %d, want round robin between them", stable1.hits.Load(), stable2.hits.Load())
	}
}

func TestPinnedVersionHeader(t *testing.T) {
	reg := newRegistry(t)
	stable, canary := newUpstream(t, "stable"), newUpstream(t, "canary")
	registerVersion(t, reg.svc, "s1", stable.srv.URL, "1.0.0")
	registerVersion(t, reg.svc, "c1", canary.srv.URL, "1.1.0")
	gw := newGateway(t, reg.srv.URL, map[string]string{"NMAP_SERVICE_VERSIONS": "1.0.0:90,1.1.0:10", "CACHE_TTL": "5s"})
	pin := map[string]string{proxy.VersionHeader: "1.1.0"}
	if got := spread(t, gw.url+"/v2/nmap_service/x", 20, 2, pin); got["canary"] != 20 {
		t.Fatalf("pinned to 1.1.0: %v, want all 20 from the canary", got)
	}
	for _, version := range []string{"2.0.0", "none"} {
		req, _ := http.NewRequest(http.MethodGet, gw.url+"/v2/nmap_service/x", nil)
		req.Header.Set(proxy.VersionHeader, version)
		assertVersion404(t, req, version)
	}
	// The canary goes away: pinning it is a 404 once the gateway knows.
	if _, err := reg.svc.Deregister(context.Background(), "nmap_service", "c1"); err != nil {
		t.Fatal(err)
	}
	gw.clock.Advance(5 * time.Second)
	req, _ := http.NewRequest(http.MethodGet, gw.url+"/v2/nmap_service/x", nil)
	req.Header.Set(proxy.VersionHeader, "1.1.0")
	assertVersion404(t, req, "1.1.0")
	if got := gw.get(t, "/v2/nmap_service/x"); got.code != 200 || !strings.HasPrefix(got.body, "stable ") {
		t.Fatalf("unpinned after the canary left: %d %q, want the stable version", got.code, got.body)
	}
}

func assertVersion404(t *testing.T, req *http.Request, version string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Detail string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusNotFound ||
		!strings.Contains(body.Detail, `version "`+version+`"`) || !strings.Contains(body.Detail, "no live instance of nmap_service") {
		t.Fatalf("pinned to %s: %d %+v, want 404 saying no live instance has it", version, resp.StatusCode, body)
	}
}

// A canary that crashes mid-run and is deregistered costs no 5xx: the
// requests that meet it dead (refused, or cut before an answer) are
// retried on the other version, it is ejected after three such failures,
// and the gateway drops it from its routes as the registry's change feed
// tells it (within a second).
func TestCanaryThatVanishesMidRunCostsNo5xx(t *testing.T) {
	reg := newWatchedRegistry(t, time.Minute)
	stable := newUpstream(t, "stable")
	// The canary takes 20 ms per answer, so requests are in flight when
	// it crashes: those are cut before any answer, not refused.
	var canaryHits atomic.Int32
	canary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		canaryHits.Add(1)
		time.Sleep(20 * time.Millisecond)
		fmt.Fprint(w, "canary ")
	}))
	t.Cleanup(canary.Close)
	registerVersion(t, reg.svc, "s1", stable.srv.URL, "1.0.0")
	registerVersion(t, reg.svc, "c1", canary.URL, "1.1.0")
	gw := followingGatewayEnv(t, reg.url, map[string]string{"NMAP_SERVICE_VERSIONS": "1.0.0:50,1.1.0:50"})

	var failures, served atomic.Int32
	var failed sync.Map // what the failures were
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5000; i++ { // bounded; stop ends it sooner
				select {
				case <-stop:
					return
				default:
				}
				who := fetch(gw+"/v2/nmap_service/x", nil)
				served.Add(1)
				if who != "stable" && who != "canary" {
					failures.Add(1)
					failed.Store(who, true)
				}
			}
		}()
	}
	waitFor(t, "the canary gets traffic", func() bool { return canaryHits.Load() >= 20 })
	canary.CloseClientConnections() // it crashes: every connection cut, requests in flight too,
	canary.Listener.Close()         // and nothing listens any more
	killedAt := served.Load()
	time.Sleep(100 * time.Millisecond) // the deregistration comes a little later, as a lease's end or a sidecar's would
	if _, err := reg.svc.Deregister(context.Background(), "nmap_service", "c1"); err != nil {
		t.Fatal(err)
	}
	deregisteredAt := served.Load()
	waitFor(t, "requests go on after the deregistration", func() bool { return served.Load() >= deregisteredAt+200 })
	close(stop)
	wg.Wait()
	var kinds []string
	failed.Range(func(k, _ any) bool { kinds = append(kinds, k.(string)); return true })
	t.Logf("%d requests; the canary served %d before it died at request ~%d; deregistered at ~%d; failures %d %v",
		served.Load(), canaryHits.Load(), killedAt, deregisteredAt, failures.Load(), kinds)
	if failures.Load() != 0 {
		t.Fatalf("%d of %d requests failed (%v) when the canary went away, want none", failures.Load(), served.Load(), kinds)
	}
}

// followingGatewayEnv is followingGateway with more settings.
func followingGatewayEnv(t *testing.T, registryURL string, extra map[string]string) string {
	t.Helper()
	env := map[string]string{"REGISTRY_URL": registryURL, "CACHE_TTL": "60s", "REGISTRY_WATCH_WAIT": "10s"}
	for k, v := range extra {
		env[k] = v
	}
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
	waitFor(t, "the gateway follows the registry's feed", app.router.Following)
	return srv.URL
}

// waitFor polls cond every 5 ms for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRateLimitAnswers429WithRetryAfterAndRefills(t *testing.T) {
	reg := newRegistry(t)
	up := newUpstream(t, "nmap")
	other := newUpstream(t, "osint")
	reg.register(t, "nmap_service", "", up.srv.URL, "")
	reg.register(t, "osint_service", "", other.srv.URL, "")
	gw := newGateway(t, reg.srv.URL, map[string]string{"NMAP_SERVICE_RATE": "5/s,burst=5"})
	for i := range 5 {
		if got := gw.get(t, "/v2/nmap_service/x"); got.code != 200 {
			t.Fatalf("request %d of the burst: %d %q", i, got.code, got.body)
		}
	}
	got := gw.get(t, "/v2/nmap_service/x")
	var body struct{ Detail string }
	if err := json.Unmarshal([]byte(got.body), &body); err != nil || got.code != http.StatusTooManyRequests ||
		got.header.Get("Retry-After") != "1" || !strings.Contains(body.Detail, "nmap_service") ||
		!strings.Contains(body.Detail, "rate limit") {
		t.Fatalf("past the limit: %d Retry-After %q %q, want 429, Retry-After 1 and a detail",
			got.code, got.header.Get("Retry-After"), got.body)
	}
	if n := up.hits.Load(); n != 5 {
		t.Fatalf("the upstream got %d requests, want 5 (the refused one never reaches it)", n)
	}
	for range 20 { // a service without a limit is not limited
		if got := gw.get(t, "/v2/osint_service/x"); got.code != 200 {
			t.Fatalf("osint_service (no limit): %d", got.code)
		}
	}
	gw.clock.Advance(200 * time.Millisecond) // one token at 5/s
	if got := gw.get(t, "/v2/nmap_service/x"); got.code != 200 {
		t.Fatalf("after 200 ms: %d, want one more allowed", got.code)
	}
	if got := gw.get(t, "/v2/nmap_service/x"); got.code != http.StatusTooManyRequests {
		t.Fatalf("right after: %d, want 429 again", got.code)
	}
	gw.clock.Advance(time.Second) // the bucket refills to its burst
	for i := range 5 {
		if got := gw.get(t, "/v2/nmap_service/x"); got.code != 200 {
			t.Fatalf("after refilling, request %d: %d", i, got.code)
		}
	}
	m := gw.get(t, "/metrics").body
	for _, want := range []string{`gateway_rate_limited_total{service="nmap_service"} 2`,
		`gateway_requests_total{code="429",service="nmap_service"} 2`,
		`gateway_requests_total{code="200",service="nmap_service"} 11`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s:\n%s", want, grep(m, "nmap_service"))
		}
	}
}

func TestRateLimitSeriesExistFromStart(t *testing.T) {
	reg := newRegistry(t)
	gw := newGateway(t, reg.srv.URL, map[string]string{"NMAP_SERVICE_RATE": "100/s"})
	if m := gw.get(t, "/metrics").body; !strings.Contains(m, `gateway_rate_limited_total{service="nmap_service"} 0`) {
		t.Fatalf("metrics:\n%s", grep(m, "rate_limited"))
	}
}

func TestPolicyVariablesAreReadOrRefusedNamingThem(t *testing.T) {
	env := map[string]string{
		"REGISTRY_URL":           "http://registry:8888",
		"NMAP_SERVICE_VERSIONS":  "1.0.0:90, 1.1.0:10",
		"OSINT_SERVICE_RATE":     "6000/m,burst=20",
		"nmap_service_RATE":      "junk", // not a service name in upper case: not ours
		"NMAP-SERVICE_VERSIONS":  "junk",
		"_RATE":                  "junk",
		"NMAP_SERVICE_RATE_HINT": "junk",
	}
	cfg, err := LoadConfig(envconf.Map(env), environOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.VersionSplits(), " "); got != "nmap_service=1.0.0:90,1.1.0:10" {
		t.Errorf("splits %s", got)
	}
	if got := strings.Join(cfg.RateLimits(), " "); got != "osint_service=100/s,burst=20" {
		t.Errorf("limits %s", got)
	}
	for name, value := range map[string]string{
		"NMAP_SERVICE_VERSIONS": "1.0.0:90,1.1.0",
		"NMAP_SERVICE_RATE":     "100 per second",
	} {
		bad := map[string]string{"REGISTRY_URL": "http://registry:8888", name: value}
		if _, err := LoadConfig(envconf.Map(bad), environOf(bad)); err == nil || !strings.HasPrefix(err.Error(), name+": ") {
			t.Errorf("%s=%q: err %v, want one naming the variable", name, value, err)
		}
	}
}

// A canary deregistered while requests run (a sidecar does so on SIGTERM)
// stops getting traffic within a second, through the change feed, and
// its share goes to the other version without a single failed request;
// then it stops.
func TestDeregisteredCanaryLeavesTheSplitWithinASecond(t *testing.T) {
	reg := newWatchedRegistry(t, time.Minute)
	stable, canary := newUpstream(t, "stable"), newUpstream(t, "canary")
	registerVersion(t, reg.svc, "s1", stable.srv.URL, "1.0.0")
	registerVersion(t, reg.svc, "c1", canary.srv.URL, "1.1.0")
	gw := followingGatewayEnv(t, reg.url, map[string]string{"NMAP_SERVICE_VERSIONS": "1.0.0:50,1.1.0:50"})
	var failures atomic.Int32
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if who := fetch(gw+"/v2/nmap_service/x", nil); who != "stable" && who != "canary" {
					failures.Add(1)
				}
			}
		}()
	}
	waitFor(t, "the canary gets traffic", func() bool { return canary.hits.Load() >= 20 })
	if _, err := reg.svc.Deregister(context.Background(), "nmap_service", "c1"); err != nil {
		t.Fatal(err)
	}
	took := until(t, gw, "the deregistered canary gets no traffic", func(seen map[string]bool) bool {
		return !seen["canary"] && seen["stable"]
	})
	t.Logf("the canary left the split %s after its deregistration", took)
	canary.srv.Close() // the instance stops once it is out of the routes
	before := stable.hits.Load()
	waitFor(t, "requests go on", func() bool { return stable.hits.Load() >= before+100 })
	close(stop)
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d requests failed while the canary left, want none", n)
	}
}
