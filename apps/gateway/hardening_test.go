package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/envconf"
)

// runGateway is run() itself on a loopback port: the real server with its
// HTTP_* limits, which httptest would not apply.
func runGateway(t *testing.T, registryURL string, env map[string]string) (url string, stop func() error) {
	t.Helper()
	env["GATEWAY_ADDR"], env["REGISTRY_URL"] = "127.0.0.1:0", registryURL
	cfg, err := LoadConfig(envconf.Map(env), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.DiscardHandler), ready) }()
	select {
	case addr := <-ready:
		url = "http://" + addr.String()
	case err := <-done:
		t.Fatal(err)
	}
	var result error
	stopped := false
	stop = func() error {
		if !stopped {
			cancel()
			select {
			case result = <-done:
			case <-time.After(15 * time.Second):
				result = errors.New("run did not return 15 s after its context ended")
			}
			stopped = true
		}
		return result
	}
	t.Cleanup(func() { _ = stop() })
	return url, stop
}

// detailOf decodes a {"detail": ...} answer.
func detailOf(t *testing.T, body string) string {
	t.Helper()
	var d struct{ Detail string }
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatalf("answer is not {\"detail\": ...}: %q", body)
	}
	return d.Detail
}

// getCut GETs url expecting the gateway to cut the response (before or
// after its headers, depending on what was flushed); it fails the test if
// the response completes or only the client's own bound ends it.
func getCut(t *testing.T, url string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	var netErr net.Error
	if err == nil || errors.As(err, &netErr) && netErr.Timeout() {
		t.Fatalf("GET %s: %v; want the gateway to cut the response", url, err)
	}
}

// Item 4 (gateway side) and 10: an upstream that sends its headers and part
// of its body, then stalls, is cut after UPSTREAM_IDLE_TIMEOUT, counted as
// 504 and reported to the service's breaker.
func TestStalledUpstreamBodyIsCutCountedAndReported(t *testing.T) {
	reg := newRegistry(t)
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		_, _ = w.Write([]byte("partial"))
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(up.Close)
	t.Cleanup(func() { close(release) })
	reg.register(t, "stall_service", "", up.URL, "")
	gw := newGateway(t, reg.srv.URL, map[string]string{"UPSTREAM_IDLE_TIMEOUT": "300ms", "BREAKER_FAILURES": "1"})
	getCut(t, gw.url+"/v2/stall_service/file")
	gw.wantCutCounted(t, "stall_service", http.StatusGatewayTimeout)
}

// wantCutCounted checks a cut response left one sample with code and
// opened the service's breaker (BREAKER_FAILURES=1).
func (g *gateway) wantCutCounted(t *testing.T, service string, code int) {
	t.Helper()
	m := g.get(t, "/metrics").body
	for _, want := range []string{fmt.Sprintf(`gateway_requests_total{code="%d",service=%q} 1`, code, service),
		fmt.Sprintf(`gateway_breaker_state{target=%q} 1`, service)} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s:\n%s", want, grep(m, service))
		}
	}
}

// dyingUpstream announces a 1000-byte body, sends 7 bytes and closes the
// connection: an upstream dying in the middle of its body.
func dyingUpstream(t *testing.T) string {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		_, _ = io.WriteString(w, "partial")
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close() // Hijack flushed what was written
		}
	}))
	t.Cleanup(up.Close)
	return up.URL
}

// Item 10: an upstream dying mid-body leaves a 502 sample and a breaker
// failure; before, the request vanished from the metrics.
func TestUpstreamDyingMidBodyIsCountedAndReported(t *testing.T) {
	reg := newRegistry(t)
	reg.register(t, "dying_service", "", dyingUpstream(t), "")
	gw := newGateway(t, reg.srv.URL, map[string]string{"BREAKER_FAILURES": "1"})
	getCut(t, gw.url+"/v2/dying_service/file")
	gw.wantCutCounted(t, "dying_service", http.StatusBadGateway)
}

// Item 4, client side: a client that stops reading a proxied download is
// cut after HTTP_WRITE_TIMEOUT without progress, freeing the upstream too.
func TestClientThatStopsReadingIsCutAndFreesTheUpstream(t *testing.T) {
	reg := newRegistry(t)
	upstreamCut := make(chan error, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		for range 100_000 { // 6 GB: far more than every buffer on the way holds
			if _, err := w.Write(chunk); err != nil {
				upstreamCut <- err
				return
			}
		}
		upstreamCut <- nil
	}))
	t.Cleanup(up.Close)
	reg.register(t, "download_service", "", up.URL, "")
	url, _ := runGateway(t, reg.srv.URL, map[string]string{"HTTP_WRITE_TIMEOUT": "300ms"})
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET /v2/download_service/big HTTP/1.1\r\nHost: gw\r\n\r\n") // and never read
	select {
	case err := <-upstreamCut:
		if err == nil {
			t.Fatal("the upstream wrote 6 GB to a client that reads nothing")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the upstream is still writing 15 s after the client stopped reading")
	}
}

// The per-write deadline must not cut a download that keeps moving, however
// long it takes in all (event streams, slow large files).
func TestSlowButMovingDownloadOutlivesTheWriteTimeout(t *testing.T) {
	reg := newRegistry(t)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := range 10 { // 1 s in all, against a 300 ms write timeout
			<-tick.C
			fmt.Fprintf(w, "event %d\n", i)
			http.NewResponseController(w).Flush()
		}
	}))
	t.Cleanup(up.Close)
	reg.register(t, "events_service", "", up.URL, "")
	url, _ := runGateway(t, reg.srv.URL, map[string]string{"HTTP_WRITE_TIMEOUT": "300ms"})
	resp, err := http.Get(url + "/v2/events_service/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || strings.Count(string(body), "event") != 10 {
		t.Fatalf("stream: %q, %v", body, err)
	}
}

// Item 4: the gateway's server applies HTTP_MAX_HEADER_BYTES, and a client
// stuck at SIGTERM is cut after HTTP_SHUTDOWN_GRACE with a clean return
// (serve.Main then exits 0).
func TestRunAppliesLimitsAndStopsCleanlyWithAStuckClient(t *testing.T) {
	reg := newRegistry(t)
	entered := make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-r.Context().Done() // an upstream that never answers
	}))
	t.Cleanup(up.Close)
	reg.register(t, "stuck_service", "", up.URL, "")
	url, stop := runGateway(t, reg.srv.URL, map[string]string{"HTTP_MAX_HEADER_BYTES": "8192",
		"HTTP_SHUTDOWN_GRACE": "300ms", "UPSTREAM_TIMEOUT": "1m"})

	req, _ := http.NewRequest(http.MethodGet, url+"/health", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 16<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("16 KiB of headers with HTTP_MAX_HEADER_BYTES=8192: %d, want 431", resp.StatusCode)
	}

	clientDone := make(chan error, 1)
	go func() {
		resp, err := http.Get(url + "/v2/stuck_service/x")
		if err == nil {
			resp.Body.Close()
		}
		clientDone <- err
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the upstream")
	}
	if err := stop(); err != nil {
		t.Fatalf("run with a client stuck at shutdown = %v, want nil (exit 0)", err)
	}
	select {
	case <-clientDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the stuck client's connection was not closed")
	}
}

// Item 5: an endpoint pointing back at the gateway loops until the request
// carries GATEWAY_MAX_HOPS of the gateway's Via entries, then gets a 508.
func TestForwardingLoopEndsIn508(t *testing.T) {
	reg := newRegistry(t)
	gw := newGateway(t, reg.srv.URL, map[string]string{"UPSTREAM_TIMEOUT": "5s"})
	reg.register(t, "loop_service", "", gw.url+"/v2/loop_service", "")
	client := &http.Client{Timeout: 15 * time.Second}
	resp, err := client.Get(gw.url + "/v2/loop_service/x")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusLoopDetected || !strings.Contains(detailOf(t, string(b)), "loop") {
		t.Fatalf("looping endpoint: %d %s, want 508 with a detail", resp.StatusCode, b)
	}
	// The first three passes forwarded (and relayed the 508); the fourth refused.
	if m := gw.get(t, "/metrics").body; !strings.Contains(m, `gateway_requests_total{code="508",service="loop_service"} 4`) {
		t.Fatalf("metrics:\n%s", grep(m, "loop_service"))
	}
}

// Item 8: escapes in the service segment and dot segments in the rest.
func TestPathEscapesAndDotSegmentsNeverReachTheUpstream(t *testing.T) {
	reg := newRegistry(t)
	var hits atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, r.URL.EscapedPath())
	}))
	t.Cleanup(up.Close)
	reg.register(t, "svc", "", up.URL+"/api", "")
	reg.register(t, "nmap_service", "", up.URL+"/api", "")
	gw := newGateway(t, reg.srv.URL, nil)
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/v2/svc%2Fadmin", http.StatusNotFound},
		{"/v2/svc%2Fadmin/x", http.StatusNotFound},
		{"/v2/nmap%5Fservice/x", http.StatusNotFound},
		{"/v2/svc/../../etc/passwd", http.StatusBadRequest},
		{"/v2/svc/%2e%2e/%2e%2e/etc/passwd", http.StatusBadRequest},
		{"/v2/svc/a%2F..%2F..%2Fetc", http.StatusBadRequest},
		{"/v2/svc/a/./b", http.StatusBadRequest},
		{"/v2/svc/..", http.StatusBadRequest},
		{"/v2/svc/..;/..;/etc", http.StatusBadRequest},
		{"/v2/svc/..%5c..%5cetc", http.StatusBadRequest},
	} {
		got := gw.get(t, tc.path)
		if got.code != tc.code || detailOf(t, got.body) == "" {
			t.Errorf("%s: %d %q, want %d with a detail", tc.path, got.code, got.body, tc.code)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("%d of those reached the upstream", n)
	}
	for path, want := range map[string]string{ // what still passes, as sent
		"/v2/svc/a%2Fb": "/api/a%2Fb", "/v2/svc/a..b/...": "/api/a..b/...", "/v2/svc": "/api/",
	} {
		if got := gw.get(t, path); got.code != 200 || got.body != want {
			t.Errorf("%s reached the upstream as %d %q, want %q", path, got.code, got.body, want)
		}
	}
}

// Item 9: the client's detail names the service and what to do, never the
// registry's address or the dial error (those go to the log).
func TestRegistryFailureDetailHidesInternals(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	gw := newGateway(t, dead.URL, nil)
	got := gw.get(t, "/v2/nmap_service/x")
	d := detailOf(t, got.body)
	host := strings.TrimPrefix(dead.URL, "http://")
	if got.code != http.StatusServiceUnavailable || strings.Contains(d, host) || strings.Contains(d, "127.0.0.1") ||
		strings.Contains(d, "dial") || strings.Contains(d, "refused") ||
		!strings.Contains(d, "nmap_service") || !strings.Contains(d, "NMAP_SERVICE_URL") {
		t.Fatalf("%d %q: want 503 naming the service and its _URL, without internals", got.code, d)
	}
}

// Item 7: the gateway forgets services the registry no longer knows, and
// services nobody routes to for ROUTE_FORGET_AFTER, with their series.
func TestGoneAndIdleServicesLeaveNoSeries(t *testing.T) {
	reg := newRegistry(t)
	up := newUpstream(t, "up")
	const n = 30
	for i := range n {
		reg.register(t, fmt.Sprintf("temp_%d", i), "", up.srv.URL, "")
	}
	reg.register(t, "idle_service", "", up.srv.URL, "")
	reg.register(t, "busy_service", "", up.srv.URL, "")
	gw := newGateway(t, reg.srv.URL, map[string]string{"ROUTE_FORGET_AFTER": "10m"})
	for i := range n {
		gw.get(t, fmt.Sprintf("/v2/temp_%d/x", i))
	}
	gw.get(t, "/v2/idle_service/x")
	if m := gw.get(t, "/metrics").body; strings.Count(m, `gateway_upstream_duration_seconds_count{service="temp_`) != n {
		t.Fatalf("expected %d histograms before deregistration:\n%s", n, grep(m, "_count"))
	}
	for i := range n {
		if _, err := reg.svc.Deregister(context.Background(), fmt.Sprintf("temp_%d", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	gw.clock.Advance(6 * time.Second) // past CACHE_TTL: the next requests ask the registry
	for i := range n {
		if got := gw.get(t, fmt.Sprintf("/v2/temp_%d/x", i)); got.code != 404 {
			t.Fatalf("deregistered temp_%d: %d", i, got.code)
		}
	}
	// idle_service is now idle too; busy_service's cache entry expired, so
	// routing it is a miss, on which the gateway sweeps.
	gw.clock.Advance(11 * time.Minute)
	if got := gw.get(t, "/v2/busy_service/x"); got.code != 200 {
		t.Fatalf("busy_service: %d", got.code)
	}
	m := gw.get(t, "/metrics").body
	for _, gone := range []string{`service="temp_`, `target="temp_`, `service="idle_service"`, `target="idle_service"`} {
		if strings.Contains(m, gone) {
			t.Errorf("series for forgotten services remain (%s):\n%s", gone, grep(m, gone))
		}
	}
	if !strings.Contains(m, `gateway_requests_total{code="200",service="busy_service"} 1`) {
		t.Errorf("busy_service's series went too:\n%s", grep(m, "busy_service"))
	}
	if got := gw.get(t, "/v2/idle_service/x"); got.code != 200 { // comes back as new
		t.Fatalf("idle_service after being forgotten: %d", got.code)
	}
}
