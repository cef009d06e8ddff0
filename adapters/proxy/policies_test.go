package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/proxy"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/routing"
	"github.com/vertice/vertice/ports"
	"github.com/vertice/vertice/ports/portstest"
)

// versioned lists instances of nmap_service: "id=version" -> endpoint.
type versioned map[string]string

func (d versioned) Lookup(_ context.Context, service string) (catalog.Service, error) {
	out := catalog.Service{Name: service, Index: 1}
	if service != "nmap_service" {
		return out, ports.ErrNotFound
	}
	for key, ep := range d {
		id, version, _ := strings.Cut(key, "=")
		md := map[string]string{}
		if version != "" {
			md[catalog.VersionKey] = version
		}
		out.Instances = append(out.Instances, catalog.Instance{Registration: catalog.Registration{
			ServiceName: service, InstanceID: id, Endpoint: ep, Metadata: md}})
	}
	return out, nil
}

// named answers with its name.
func named(t *testing.T, name string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, name) }))
	t.Cleanup(srv.Close)
	return srv
}

func send(t *testing.T, method, url string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, body := get(t, req)
	return resp, string(body)
}

func TestPinnedVersionGoesOnlyToThatVersion(t *testing.T) {
	old, canary := named(t, "old"), named(t, "canary")
	gw := newGateway(t, versioned{"a=1.0.0": old.URL, "b=1.1.0": canary.URL}, proxy.Options{})
	for range 4 {
		if resp, body := send(t, "GET", gw.URL+"/v2/nmap_service/x", map[string]string{proxy.VersionHeader: "1.1.0"}); resp.StatusCode != 200 || body != "canary" {
			t.Fatalf("pinned 1.1.0: %d %q, want the canary", resp.StatusCode, body)
		}
	}
	resp, body := send(t, "GET", gw.URL+"/v2/nmap_service/x", map[string]string{proxy.VersionHeader: "2.0.0"})
	var d struct{ Detail string }
	_ = json.Unmarshal([]byte(body), &d)
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/json" ||
		!strings.Contains(d.Detail, `version "2.0.0"`) || !strings.Contains(d.Detail, "nmap_service") ||
		!strings.Contains(d.Detail, proxy.VersionHeader) {
		t.Fatalf("pinned an absent version: %d %q, want 404 naming the service, the version and the header", resp.StatusCode, body)
	}
}

// A retry after a pinned attempt failed stays within the version: the
// client asked for it, another version's answer would be a wrong answer.
func TestPinnedRetryStaysWithinTheVersion(t *testing.T) {
	other := named(t, "other")
	gw := newGateway(t, versioned{"a=1.0.0": other.URL, "b=1.1.0": deadURL(t)}, proxy.Options{})
	if resp, body := send(t, "GET", gw.URL+"/v2/nmap_service/x", map[string]string{proxy.VersionHeader: "1.1.0"}); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("pinned to a dead version: %d %q, want 502", resp.StatusCode, body)
	}
}

// closing accepts a request and closes the connection without answering,
// as an instance stopping with the request in flight does.
func closing(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestConnectionClosedBeforeAnAnswerIsRetriedWhenSafe(t *testing.T) {
	ok := named(t, "ok")
	gw := newGateway(t, versioned{"a": closing(t).URL, "b": ok.URL}, proxy.Options{})
	for i := range 4 { // round robin starts on the closing one twice
		if resp, body := send(t, "GET", gw.URL+"/v2/nmap_service/x", nil); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("GET %d: %d %q, want the other instance's answer", i, resp.StatusCode, body)
		}
	}
	gw = newGateway(t, versioned{"a": closing(t).URL, "b": ok.URL}, proxy.Options{}) // none ejected yet
	codes := map[int]int{}
	for range 2 {
		resp, _ := send(t, "POST", gw.URL+"/v2/nmap_service/x", nil)
		codes[resp.StatusCode]++
	}
	if codes[http.StatusBadGateway] != 1 || codes[http.StatusOK] != 1 {
		t.Fatalf("POST codes %v, want one 502 (not retried: not idempotent) and one 200", codes)
	}
}

// A timeout is not a reason to try elsewhere: the instance may be slow,
// and a retry would double its load.
func TestTimeoutIsNotRetried(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	t.Cleanup(func() { close(release); slow.Close() })
	ok := named(t, "ok")
	gw := newGateway(t, versioned{"a": slow.URL, "b": ok.URL}, proxy.Options{Timeout: 100 * time.Millisecond})
	codes := map[int]int{}
	for range 2 {
		resp, _ := send(t, "GET", gw.URL+"/v2/nmap_service/x", nil)
		codes[resp.StatusCode]++
	}
	if codes[http.StatusGatewayTimeout] != 1 || codes[http.StatusOK] != 1 {
		t.Fatalf("codes %v, want one 504 (not retried) and one 200", codes)
	}
}

// fakeLimiter allows n requests of limited_service, then refuses.
type fakeLimiter struct {
	mu   sync.Mutex
	left int
}

func (l *fakeLimiter) Allow(service string) (bool, time.Duration) {
	if service != "nmap_service" {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.left == 0 {
		return false, 1500 * time.Millisecond
	}
	l.left--
	return true, 0
}

func TestLimiterRefusesWith429AndRetryAfter(t *testing.T) {
	up := named(t, "up")
	obs := &countingObserver{}
	lim := &fakeLimiter{left: 2}
	dir := versioned{"a": up.URL}
	gw := newGateway(t, dir, proxy.Options{Limiter: lim, Observer: obs})
	for i := range 2 {
		if resp, _ := send(t, "GET", gw.URL+"/v2/nmap_service/x", nil); resp.StatusCode != 200 {
			t.Fatalf("request %d within the limit: %d", i, resp.StatusCode)
		}
	}
	resp, body := send(t, "GET", gw.URL+"/v2/nmap_service/x", nil)
	var d struct{ Detail string }
	if err := json.Unmarshal([]byte(body), &d); err != nil || resp.StatusCode != http.StatusTooManyRequests ||
		resp.Header.Get("Retry-After") != "2" || !strings.Contains(d.Detail, "nmap_service") || !strings.Contains(d.Detail, "rate limit") {
		t.Fatalf("past the limit: %d Retry-After %q %q, want 429, Retry-After 2 (1.5 s rounded up) and a detail",
			resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if got := strings.Join(obs.served, ","); got != "nmap_service:200,nmap_service:200,limited:nmap_service,nmap_service:429" {
		t.Fatalf("observer saw %s", got)
	}
}

// recordingTracer puts "traceparent: span-N" on upstream requests and
// keeps every Outcome.
type recordingTracer struct {
	mu    sync.Mutex
	n     int
	ended []proxy.Outcome
}

type recordingSpan struct {
	t  *recordingTracer
	id string
}

func (rt *recordingTracer) Start(r *http.Request) proxy.Span {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.n++
	return &recordingSpan{t: rt, id: fmt.Sprintf("span-%d(%s)", rt.n, r.Header.Get("Traceparent"))}
}

func (s *recordingSpan) Inject(h http.Header) { h.Set("Traceparent", s.id) }
func (s *recordingSpan) End(o proxy.Outcome) {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	s.t.ended = append(s.t.ended, o)
}

func TestTracerSpansEveryRequestAndPropagates(t *testing.T) {
	seen := make(chan string, 1)
	up := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen <- r.Header.Get("Traceparent") }))
	t.Cleanup(up.Close)
	tr := &recordingTracer{}
	gw := newGateway(t, versioned{"a=1.0.0": deadURL(t), "b=1.1.0": up.URL}, proxy.Options{Tracer: tr})
	if resp, _ := send(t, "GET", gw.URL+"/v2/nmap_service/x", map[string]string{"Traceparent": "client"}); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := <-seen; got != "span-1(client)" {
		t.Fatalf("upstream saw traceparent %q, want the gateway's span's, started from the client's", got)
	}
	send(t, "GET", gw.URL+"/v2/nmap_service/x", map[string]string{proxy.VersionHeader: "9"})
	send(t, "GET", gw.URL+"/nowhere", nil)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	want := []proxy.Outcome{
		{Service: "nmap_service", Instance: "b", Version: "1.1.0", Status: 200, Attempts: 2},
		{Service: "nmap_service", Status: 404},
		{Status: 404},
	}
	if len(tr.ended) != len(want) {
		t.Fatalf("ended %d spans, want %d: %+v", len(tr.ended), len(want), tr.ended)
	}
	for i, o := range tr.ended {
		if o.Upstream < 0 || (i == 0) != (o.Upstream > 0) {
			t.Errorf("span %d upstream latency %s", i, o.Upstream)
		}
		o.Upstream = 0
		if o != want[i] {
			t.Errorf("span %d ended with %+v, want %+v", i, o, want[i])
		}
	}
}

// The span of a response cut midway (ReverseProxy panics to cut the
// client) still ends, once, with the status recorded.
func TestSpanEndsWhenTheResponseIsCutMidway(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		_, _ = io.WriteString(w, "short")
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(up.Close)
	tr := &recordingTracer{}
	r, err := routing.New(versioned{"a": up.URL}, portstest.NewFakeClock(time.Unix(0, 0)), nil, routing.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := proxy.New(proxy.Options{Router: r, Tracer: tr})
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(p)
	t.Cleanup(gw.Close)
	if resp, err := http.Get(gw.URL + "/v2/nmap_service/x"); err == nil {
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		tr.mu.Lock()
		ended := append([]proxy.Outcome(nil), tr.ended...)
		tr.mu.Unlock()
		if len(ended) == 1 && ended[0].Status == http.StatusBadGateway {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("spans ended: %+v, want one with 502", ended)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
