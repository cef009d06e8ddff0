package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/ginapi"
	"github.com/vertice/vertice/adapters/memstore"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/registry"
	"github.com/vertice/vertice/internal/envconf"
	"github.com/vertice/vertice/ports"
	"github.com/vertice/vertice/ports/portstest"
)

// testRegistry is a real registry (gin API + memory store) that can be told
// to answer 503 as if its store were down, and counts lookups.
type testRegistry struct {
	svc     *registry.Service
	srv     *httptest.Server
	down    atomic.Bool
	lookups atomic.Int32
}

func newRegistry(t *testing.T) *testRegistry {
	t.Helper()
	clock := ports.SystemClock{}
	reg := &testRegistry{svc: registry.New(memstore.New(clock), nil, clock, time.Minute)}
	api := ginapi.New(ginapi.Options{Registry: reg.svc})
	reg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/services/") {
			reg.lookups.Add(1)
		}
		if reg.down.Load() {
			http.Error(w, `{"detail":"registry: store unavailable"}`, http.StatusServiceUnavailable)
			return
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(reg.srv.Close)
	return reg
}

func (reg *testRegistry) register(t *testing.T, service, id, endpoint, status string) {
	t.Helper()
	md := map[string]string{catalog.StatusKey: status}
	if _, _, err := reg.svc.Register(context.Background(), catalog.Registration{
		ServiceName: service, InstanceID: id, Endpoint: endpoint, Metadata: md}); err != nil {
		t.Fatal(err)
	}
}

// gateway is the wired app under test, on a fake clock.
type gateway struct {
	url   string
	clock *portstest.FakeClock
}

func newGateway(t *testing.T, registryURL string, env map[string]string) *gateway {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	env["REGISTRY_URL"] = registryURL
	cfg, err := LoadConfig(envconf.Map(env), environOf(env))
	if err != nil {
		t.Fatal(err)
	}
	clock := portstest.NewFakeClock(time.Unix(1_761_311_216, 0))
	app, err := wire(cfg, clock, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.handler)
	t.Cleanup(srv.Close)
	return &gateway{url: srv.URL, clock: clock}
}

type reply struct {
	code   int
	header http.Header
	body   string
}

func (g *gateway) get(t *testing.T, path string) reply {
	t.Helper()
	resp, err := http.Get(g.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// upstream answers "<name> <path>?<query>" and counts requests.
type upstream struct {
	name string
	hits atomic.Int32
	srv  *httptest.Server
}

func newUpstream(t *testing.T, name string) *upstream {
	u := &upstream{name: name}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		fmt.Fprintf(w, "%s %s?%s", u.name, r.URL.Path, r.URL.RawQuery)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func TestRoutesPathAndQuery(t *testing.T) {
	reg := newRegistry(t)
	up := newUpstream(t, "nmap")
	reg.register(t, "nmap_service", "", up.srv.URL, catalog.StatusHealthy)
	gw := newGateway(t, reg.srv.URL, nil)
	got := gw.get(t, "/v2/nmap_service/scan/ports?target=10.0.0.1&fast=1")
	if got.code != 200 || got.body != "nmap /scan/ports?target=10.0.0.1&fast=1" {
		t.Fatalf("got %d %q", got.code, got.body)
	}
}

func TestCacheRoutesWhileRegistryDownInsideTTL(t *testing.T) {
	reg := newRegistry(t)
	up := newUpstream(t, "nmap")
	reg.register(t, "nmap_service", "", up.srv.URL, "")
	gw := newGateway(t, reg.srv.URL, map[string]string{"CACHE_TTL": "5"})
	gw.get(t, "/v2/nmap_service/health")
	reg.down.Store(true)
	gw.clock.Advance(4 * time.Second)
	if got := gw.get(t, "/v2/nmap_service/health"); got.code != 200 || !strings.HasPrefix(got.body, "nmap ") {
		t.Fatalf("inside the cache window with the registry down: %d %q", got.code, got.body)
	}
	if n := reg.lookups.Load(); n != 1 {
		t.Fatalf("registry asked %d times, want 1 (cache)", n)
	}
}

func TestRegistryDownPastTTLOpensBreakerAndUsesFallback(t *testing.T) {
	reg := newRegistry(t)
	up := newUpstream(t, "registered")
	fallback := newUpstream(t, "fallback")
	reg.register(t, "nmap_service", "", up.srv.URL, "")
	gw := newGateway(t, reg.srv.URL, map[string]string{"NMAP_SERVICE_URL": fallback.srv.URL, "BREAKER_FAILURES": "3"})
	gw.get(t, "/v2/nmap_service/x")
	reg.down.Store(true)
	before := reg.lookups.Load()
	gw.clock.Advance(5 * time.Second)
	for i := range 6 {
		if got := gw.get(t, "/v2/nmap_service/x"); got.code != 200 || !strings.HasPrefix(got.body, "fallback ") {
			t.Fatalf("request %d with the registry down: %d %q, want the fallback", i, got.code, got.body)
		}
	}
	if n := reg.lookups.Load() - before; n != 3 {
		t.Fatalf("registry asked %d times while down, want 3 (then the breaker opens)", n)
	}
	if m := gw.get(t, "/metrics").body; !strings.Contains(m, `gateway_breaker_state{target="registry"} 1`) {
		t.Fatalf("metrics do not show the registry breaker open:\n%s", grep(m, "gateway_breaker_state"))
	}
	if h := gw.get(t, "/health"); h.code != 200 || !strings.Contains(h.body, `"degraded"`) {
		t.Fatalf("health %d %s, want 200 degraded", h.code, h.body)
	}
	reg.down.Store(false) // recovery: one probe after BREAKER_OPEN, then the registry again
	gw.clock.Advance(30 * time.Second)
	if got := gw.get(t, "/v2/nmap_service/x"); !strings.HasPrefix(got.body, "registered ") {
		t.Fatalf("after BREAKER_OPEN the probe should reach the registry: %q", got.body)
	}
}

func TestUnreachableRegistryUsesFallback(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	fallback := newUpstream(t, "fallback")
	gw := newGateway(t, dead.URL, map[string]string{"OSINT_SERVICE_URL": fallback.srv.URL})
	if got := gw.get(t, "/v2/osint_service/q"); got.code != 200 || got.body != "fallback /q?" {
		t.Fatalf("got %d %q", got.code, got.body)
	}
	if got := gw.get(t, "/v2/nmap_service/q"); got.code != http.StatusServiceUnavailable || got.header.Get("Retry-After") == "" {
		t.Fatalf("no registry and no fallback: %d %v %q, want 503 with Retry-After", got.code, got.header, got.body)
	}
}

func TestUnknownServiceWithoutFallbackIs404(t *testing.T) {
	reg := newRegistry(t)
	gw := newGateway(t, reg.srv.URL, nil)
	got := gw.get(t, "/v2/ghost_service/x")
	var body struct{ Detail string }
	if err := json.Unmarshal([]byte(got.body), &body); err != nil || got.code != 404 || !strings.Contains(body.Detail, "ghost_service") {
		t.Fatalf("got %d %q, want 404 with a detail naming the service", got.code, got.body)
	}
}

// killable is an upstream that can die (connection refused) and come back
// on the same address.
type killable struct {
	addr string
	hits atomic.Int32
	srv  *http.Server
}

func newKillable(t *testing.T) *killable {
	k := &killable{}
	k.start(t, "127.0.0.1:0")
	t.Cleanup(func() { k.srv.Close() })
	return k
}

func (k *killable) start(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	k.addr = ln.Addr().String()
	k.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		k.hits.Add(1)
		fmt.Fprint(w, "alive")
	})}
	go func() { _ = k.srv.Serve(ln) }()
}

func TestUpstreamKilledGives502ThenFast503ThenRecoversThroughHalfOpen(t *testing.T) {
	reg := newRegistry(t)
	up := newKillable(t)
	reg.register(t, "nmap_service", "", "http://"+up.addr, "")
	gw := newGateway(t, reg.srv.URL, map[string]string{"BREAKER_FAILURES": "3", "BREAKER_OPEN": "30"})
	if got := gw.get(t, "/v2/nmap_service/"); got.code != 200 {
		t.Fatalf("healthy upstream: %d", got.code)
	}
	_ = up.srv.Close()
	for i := range 3 {
		if got := gw.get(t, "/v2/nmap_service/"); got.code != http.StatusBadGateway {
			t.Fatalf("killed upstream, request %d: %d %q, want 502", i, got.code, got.body)
		}
	}
	up.start(t, up.addr) // back, but the breaker must not know yet
	before := up.hits.Load()
	for range 3 {
		got := gw.get(t, "/v2/nmap_service/")
		if got.code != http.StatusServiceUnavailable || got.header.Get("Retry-After") != "30" ||
			!strings.Contains(got.body, "circuit breaker") {
			t.Fatalf("open breaker: %d Retry-After=%q %q, want 503 with Retry-After 30", got.code, got.header.Get("Retry-After"), got.body)
		}
	}
	if up.hits.Load() != before {
		t.Fatal("requests reached the upstream while its breaker was open")
	}
	if m := gw.get(t, "/metrics").body; !strings.Contains(m, `gateway_breaker_state{target="nmap_service"} 1`) {
		t.Fatalf("breaker gauge:\n%s", grep(m, "gateway_breaker_state"))
	}
	gw.clock.Advance(30 * time.Second)
	for i := range 3 {
		if got := gw.get(t, "/v2/nmap_service/"); got.code != 200 {
			t.Fatalf("after BREAKER_OPEN, request %d: %d %q, want the probe and then traffic to pass", i, got.code, got.body)
		}
	}
	m := gw.get(t, "/metrics").body
	for _, want := range []string{`gateway_breaker_state{target="nmap_service"} 0`,
		`gateway_requests_total{code="502",service="nmap_service"} 3`,
		`gateway_requests_total{code="503",service="nmap_service"} 3`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s:\n%s", want, grep(m, "gateway_"))
		}
	}
}

func TestRoundRobinAcrossThreeInstances(t *testing.T) {
	reg := newRegistry(t)
	var ups []*upstream
	for _, name := range []string{"a", "b", "c"} {
		u := newUpstream(t, name)
		ups = append(ups, u)
		reg.register(t, "osint_service", name, u.srv.URL, catalog.StatusHealthy)
	}
	gw := newGateway(t, reg.srv.URL, nil)
	for range 30 {
		if got := gw.get(t, "/v2/osint_service/q"); got.code != 200 {
			t.Fatalf("%d %q", got.code, got.body)
		}
	}
	for _, u := range ups {
		if u.hits.Load() != 10 {
			t.Fatalf("instance %s served %d of 30, want 10", u.name, u.hits.Load())
		}
	}
}

func TestUnhealthyInstanceGetsNoTraffic(t *testing.T) {
	reg := newRegistry(t)
	a, sick, c := newUpstream(t, "a"), newUpstream(t, "sick"), newUpstream(t, "c")
	reg.register(t, "osint_service", "a", a.srv.URL, catalog.StatusHealthy)
	reg.register(t, "osint_service", "b", sick.srv.URL, catalog.StatusUnhealthy)
	reg.register(t, "osint_service", "c", c.srv.URL, catalog.StatusHealthy)
	gw := newGateway(t, reg.srv.URL, nil)
	for range 20 {
		gw.get(t, "/v2/osint_service/q")
	}
	if sick.hits.Load() != 0 || a.hits.Load() != 10 || c.hits.Load() != 10 {
		t.Fatalf("hits a=%d sick=%d c=%d, want 10/0/10", a.hits.Load(), sick.hits.Load(), c.hits.Load())
	}
}

const bigSize = 10 << 20

// waitOrFail bounds a wait that only a buffering gateway would make long.
func waitOrFail(ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("the other side saw nothing before the sender finished: the gateway buffers the body")
	}
}

func TestUploadOf10MBStreams(t *testing.T) {
	reg := newRegistry(t)
	firstByte := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		buf := make([]byte, 32<<10)
		n, err := r.Body.Read(buf)
		close(firstByte)
		h.Write(buf[:n])
		rest, _ := io.Copy(h, r.Body)
		if err != nil && err != io.EOF {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprintf(w, "%d %x", int64(n)+rest, h.Sum(nil))
	}))
	defer up.Close()
	reg.register(t, "upload_service", "", up.URL, "")
	gw := newGateway(t, reg.srv.URL, nil)

	chunk := bytes.Repeat([]byte("vertice!"), (1<<20)/8)
	want := sha256.New()
	for range bigSize / len(chunk) {
		want.Write(chunk)
	}
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write(chunk) // 1 MB, then hold the rest back until the upstream has seen a byte
		if err := waitOrFail(firstByte); err != nil {
			pw.CloseWithError(err)
			return
		}
		for range bigSize/len(chunk) - 1 {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		_ = pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, gw.url+"/v2/upload_service/files", pr)
	req.ContentLength = bigSize
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != fmt.Sprintf("%d %x", bigSize, want.Sum(nil)) {
		t.Fatalf("upload: %d %q", resp.StatusCode, body)
	}
}

func TestDownloadOf10MBStreamsInBoundedMemory(t *testing.T) {
	reg := newRegistry(t)
	clientGotBytes := make(chan struct{})
	chunk := bytes.Repeat([]byte("vertice!"), (1<<20)/8)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/warm" {
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(bigSize))
		_, _ = w.Write(chunk)
		http.NewResponseController(w).Flush()
		if waitOrFail(clientGotBytes) != nil {
			return // the client sees a short body and the test fails
		}
		for range bigSize/len(chunk) - 1 {
			_, _ = w.Write(chunk)
		}
	}))
	defer up.Close()
	reg.register(t, "download_service", "", up.URL, "")
	gw := newGateway(t, reg.srv.URL, nil)
	gw.get(t, "/v2/download_service/warm") // connections and caches warm, outside the measurement

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	resp, err := http.Get(gw.url + "/v2/download_service/file")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 32<<10)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	close(clientGotBytes)
	n, err := io.CopyBuffer(io.Discard, resp.Body, buf)
	runtime.ReadMemStats(&after)
	if err != nil || n+int64(len(buf)) != bigSize {
		t.Fatalf("download: %d bytes, err %v", n+int64(len(buf)), err)
	}
	// Everything in this process (client, gateway, upstream) allocated less
	// than a tenth of the body (about 80 KB when measured): nothing held it.
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d bytes in-process while moving %d", alloc, bigSize)
	if alloc > bigSize/10 {
		t.Fatalf("allocated %d bytes while moving %d", alloc, bigSize)
	}
}

func TestMetricsAndHealth(t *testing.T) {
	reg := newRegistry(t)
	up := newUpstream(t, "nmap")
	reg.register(t, "nmap_service", "", up.srv.URL, "")
	gw := newGateway(t, reg.srv.URL, nil)
	gw.get(t, "/v2/nmap_service/a")
	gw.get(t, "/v2/nmap_service/b")
	m := gw.get(t, "/metrics").body
	for _, want := range []string{
		`gateway_requests_total{code="200",service="nmap_service"} 2`,
		`gateway_upstream_duration_seconds_count{service="nmap_service"} 2`,
		"gateway_cache_hits_total 1", "gateway_cache_misses_total 1",
		`gateway_route_source_total{source="registry"} 1`,
		`gateway_breaker_state{target="registry"} 0`, "go_goroutines",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, grep(m, "gateway_"))
		}
	}
	if h := gw.get(t, "/health"); h.code != 200 || !strings.Contains(h.body, `"healthy"`) {
		t.Fatalf("health %d %s", h.code, h.body)
	}
	if got := gw.get(t, "/nope"); got.code != 404 || !strings.Contains(got.body, "/v2/{service}") {
		t.Fatalf("unknown endpoint %d %s", got.code, got.body)
	}
}

func TestRunServesUntilCancelled(t *testing.T) {
	reg := newRegistry(t)
	url, stop := runGateway(t, reg.srv.URL, map[string]string{})
	resp, err := http.Get(url + "/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := stop(); err != nil {
		t.Fatalf("run after cancel: %v", err)
	}
}

func TestConfig(t *testing.T) {
	env := map[string]string{
		"NMAP_SERVICE_URL": "http://vertice-nmap:8047", "REGISTRY_URL": "http://registry:8888",
		"DATABASE_URL": "postgres://x", "lower_URL": "http://x", "CACHE_TTL": "500ms",
	}
	cfg, err := LoadConfig(envconf.Map(env), environOf(env))
	if err != nil {
		t.Fatalf("err = %v: a *_URL variable that is not an http URL must not stop the gateway", err)
	}
	if fmt.Sprint(cfg.FallbackNames()) != "[nmap_service]" || len(cfg.Warnings) != 1 ||
		!strings.Contains(cfg.Warnings[0], "DATABASE_URL") || strings.Contains(cfg.Warnings[0], "postgres") {
		t.Fatalf("fallbacks %v, warnings %q: want nmap_service only and DATABASE_URL named without its value",
			cfg.FallbackNames(), cfg.Warnings)
	}
	if cfg.Addr != ":8000" || cfg.CacheTTL != 500*time.Millisecond || cfg.BreakerFailures != 3 ||
		cfg.BreakerOpen != 30*time.Second || cfg.MaxHops != 3 || cfg.UpstreamIdleTimeout != time.Minute ||
		cfg.ForgetAfter != 10*time.Minute || cfg.HTTP.MaxHeaderBytes != 64<<10 {
		t.Fatalf("config %+v", cfg)
	}
	cfg, _ = LoadConfig(envconf.Map(env), []string{"NMAP_SERVICE_URL=x", "REGISTRY_URL=x", "lower_URL=x"})
	if fmt.Sprint(cfg.FallbackNames()) != "[nmap_service]" {
		t.Fatalf("fallbacks %v, want only nmap_service", cfg.FallbackNames())
	}
	_, err = LoadConfig(envconf.Map(map[string]string{"REGISTRY_URL": "http://lb:s3cret@registry:8888"}), nil)
	if err == nil || !strings.Contains(err.Error(), "REGISTRY_URL") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("err = %v, want REGISTRY_URL with credentials refused, without repeating them", err)
	}
	_, err = LoadConfig(envconf.Map(map[string]string{"BREAKER_FAILURES": "0", "REGISTRY_URL": "registry",
		"HTTP_WRITE_TIMEOUT": "never"}), nil)
	for _, name := range []string{"BREAKER_FAILURES", "REGISTRY_URL", "HTTP_WRITE_TIMEOUT"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Fatalf("err = %v, want %s named", err, name)
		}
	}
}

func TestFallbacksRefuseCredentialsQueryAndFragment(t *testing.T) {
	env := map[string]string{
		"A_SERVICE_URL": "http://admin:s3cret@10.0.0.5:8080", "B_SERVICE_URL": "http://10.0.0.5:8080/?x=1",
		"C_SERVICE_URL": "http://10.0.0.5:8080/#f", "D_SERVICE_URL": "http://10.0.0.5:8080/api/../..",
		"E_SERVICE_URL": "http://:8080", "F_SERVICE_URL": "https://vertice-f:8443/api",
	}
	cfg, err := LoadConfig(envconf.Map(env), environOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(cfg.FallbackNames()) != "[f_service]" {
		t.Fatalf("fallbacks %v, want only f_service", cfg.FallbackNames())
	}
	warned := strings.Join(cfg.Warnings, "\n")
	for _, name := range []string{"A_SERVICE_URL", "B_SERVICE_URL", "C_SERVICE_URL", "D_SERVICE_URL", "E_SERVICE_URL"} {
		if !strings.Contains(warned, name) {
			t.Errorf("no warning names %s:\n%s", name, warned)
		}
	}
	if strings.Contains(warned, "s3cret") {
		t.Errorf("a warning repeats the credentials:\n%s", warned)
	}
}

// environOf is env in os.Environ's form.
func environOf(env map[string]string) []string {
	var out []string
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

func grep(text, substr string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, substr) && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
