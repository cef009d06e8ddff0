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
	"sync/atomic"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/proxy"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/routing"
	"github.com/vertice/vertice/ports"
	"github.com/vertice/vertice/ports/portstest"
)

// staticDirectory lists fixed endpoints for every service named in it.
type staticDirectory map[string][]string

func (d staticDirectory) Lookup(_ context.Context, service string) (catalog.Service, error) {
	eps, ok := d[service]
	if !ok {
		return catalog.Service{Name: service, Index: 1}, ports.ErrNotFound
	}
	out := catalog.Service{Name: service, Index: 1}
	for i, ep := range eps {
		out.Instances = append(out.Instances, catalog.Instance{Registration: catalog.Registration{
			ServiceName: service, InstanceID: fmt.Sprintf("i%d", i), Endpoint: ep}})
	}
	return out, nil
}

func newGateway(t *testing.T, dir ports.Directory, o proxy.Options) *httptest.Server {
	return newGatewayTB(t, dir, o)
}

func newGatewayTB(t testing.TB, dir ports.Directory, o proxy.Options) *httptest.Server {
	t.Helper()
	r, err := routing.New(dir, portstest.NewFakeClock(time.Unix(0, 0)), nil, routing.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	o.Router = r
	p, err := proxy.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv
}

// echo answers with what it received, as JSON.
type echoed struct {
	Path, RawPath, Query, Host, XFF, XFHost, XFProto, Connection, Custom string
}

func echoServer(t *testing.T, hits *atomic.Int32) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits != nil {
			hits.Add(1)
		}
		_ = json.NewEncoder(w).Encode(echoed{
			Path: r.URL.Path, RawPath: r.URL.RawPath, Query: r.URL.RawQuery, Host: r.Host,
			XFF: r.Header.Get("X-Forwarded-For"), XFHost: r.Header.Get("X-Forwarded-Host"),
			XFProto: r.Header.Get("X-Forwarded-Proto"), Connection: r.Header.Get("X-Hop"),
			Custom: r.Header.Get("X-Custom"),
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func deadURL(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	return srv.URL
}

func get(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func TestForwardsPathQueryAndHeaders(t *testing.T) {
	up := echoServer(t, nil)
	gw := newGateway(t, staticDirectory{"nmap_service": {up.URL + "/api/"}}, proxy.Options{})
	req, _ := http.NewRequest(http.MethodGet, gw.URL+"/v2/nmap_service/scan/a%2Fb?target=10.0.0.1&x=%20", nil)
	req.Header.Set("X-Forwarded-For", "6.6.6.6") // spoofed by the client
	req.Header.Set("Connection", "X-Hop")
	req.Header.Set("X-Hop", "must not pass")
	req.Header.Set("X-Custom", "kept")
	resp, body := get(t, req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var got echoed
	_ = json.Unmarshal(body, &got)
	want := echoed{Path: "/api/scan/a/b", RawPath: "/api/scan/a%2Fb", Query: "target=10.0.0.1&x=%20",
		Host: strings.TrimPrefix(up.URL, "http://"), XFF: "127.0.0.1", XFHost: strings.TrimPrefix(gw.URL, "http://"),
		XFProto: "http", Custom: "kept"}
	if got != want {
		t.Fatalf("upstream saw %+v\nwant %+v", got, want)
	}
}

func TestTrustForwardedAppends(t *testing.T) {
	up := echoServer(t, nil)
	gw := newGateway(t, staticDirectory{"nmap_service": {up.URL}}, proxy.Options{TrustForwarded: true})
	req, _ := http.NewRequest(http.MethodGet, gw.URL+"/v2/nmap_service", nil)
	req.Header.Set("X-Forwarded-For", "10.1.1.1")
	_, body := get(t, req)
	var got echoed
	_ = json.Unmarshal(body, &got)
	if got.XFF != "10.1.1.1, 127.0.0.1" || got.Path != "/" {
		t.Fatalf("XFF %q path %q, want the client's chain plus the peer, and /", got.XFF, got.Path)
	}
}

func TestRetriesIdempotentRequestOnAnotherInstance(t *testing.T) {
	var hits atomic.Int32
	up := echoServer(t, &hits)
	gw := newGateway(t, staticDirectory{"nmap_service": {deadURL(t), up.URL}}, proxy.Options{})
	for i := range 4 { // round robin starts on the dead one at least twice
		req, _ := http.NewRequest(http.MethodGet, gw.URL+"/v2/nmap_service/x", nil)
		if resp, body := get(t, req); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
	}
	if hits.Load() != 4 {
		t.Fatalf("live instance served %d of 4", hits.Load())
	}
}

func TestDoesNotRetryPostWithStreamedBody(t *testing.T) {
	var hits atomic.Int32
	up := echoServer(t, &hits)
	gw := newGateway(t, staticDirectory{"nmap_service": {deadURL(t), up.URL}}, proxy.Options{})
	codes := map[int]int{}
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, gw.URL+"/v2/nmap_service/x", strings.NewReader("payload"))
		resp, _ := get(t, req)
		codes[resp.StatusCode]++
	}
	if codes[http.StatusBadGateway] != 1 || codes[http.StatusOK] != 1 {
		t.Fatalf("codes %v, want one 502 (the dead instance, no retry) and one 200", codes)
	}
}

func TestStatusTable(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	gw := newGateway(t, staticDirectory{"dead_service": {deadURL(t)}, "slow_service": {slow.URL}},
		proxy.Options{Timeout: 50 * time.Millisecond})
	cases := []struct {
		path string
		code int
		says string
	}{
		{"/v2/dead_service/x", http.StatusBadGateway, "unreachable"},
		{"/v2/slow_service/x", http.StatusGatewayTimeout, "in time"},
		{"/v2/ghost_service/x", http.StatusNotFound, "GHOST_SERVICE_URL"},
		{"/v2/Bad-Name/x", http.StatusNotFound, "uppercase"},
		{"/v2/", http.StatusNotFound, "/v2/{service}"},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(http.MethodGet, gw.URL+tc.path, nil)
		resp, body := get(t, req)
		var d struct{ Detail string }
		_ = json.Unmarshal(body, &d)
		if resp.StatusCode != tc.code || !strings.Contains(d.Detail, tc.says) ||
			resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s, want %d with detail mentioning %q", tc.path, resp.StatusCode, body, tc.code, tc.says)
		}
	}
}

type countingObserver struct {
	mu     sync.Mutex
	served []string
}

func (o *countingObserver) Resolved(routing.Source, error) {}
func (o *countingObserver) Forgot(string)                  {}
func (o *countingObserver) Limited(service string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.served = append(o.served, "limited:"+service)
}
func (o *countingObserver) Served(service string, code int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.served = append(o.served, fmt.Sprintf("%s:%d", service, code))
}

func TestObserverSeesStatusAndHidesUnknownNames(t *testing.T) {
	up := echoServer(t, nil)
	obs := &countingObserver{}
	gw := newGateway(t, staticDirectory{"nmap_service": {up.URL}}, proxy.Options{Observer: obs})
	for _, p := range []string{"/v2/nmap_service/a", "/v2/made_up/a"} {
		req, _ := http.NewRequest(http.MethodGet, gw.URL+p, nil)
		get(t, req)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if strings.Join(obs.served, ",") != "nmap_service:200,:404" {
		t.Fatalf("served %v", obs.served)
	}
}

func TestOptionsValidate(t *testing.T) {
	if _, err := proxy.New(proxy.Options{}); err == nil || !strings.Contains(err.Error(), "Router") {
		t.Fatalf("New without Router = %v", err)
	}
}

func TestAddsViaAndRefusesRequestsThatLooped(t *testing.T) {
	vias := make(chan []string, 4)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vias <- r.Header.Values("Via")
	}))
	t.Cleanup(up.Close)
	var hits atomic.Int32
	counted := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	t.Cleanup(counted.Close)
	gw := newGateway(t, staticDirectory{"nmap_service": {up.URL}, "loop_service": {counted.URL}},
		proxy.Options{Via: "edge", MaxHops: 2})

	req, _ := http.NewRequest(http.MethodGet, gw.URL+"/v2/nmap_service/x", nil)
	req.Header.Set("Via", "1.1 cdn (squid)")
	if resp, body := get(t, req); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if got := strings.Join(<-vias, ", "); got != "1.1 cdn (squid), 1.1 edge" {
		t.Fatalf("upstream saw Via %q, want the client's entry and ours", got)
	}
	for _, tc := range []struct {
		via  []string
		code int
	}{
		{[]string{"1.1 edge"}, http.StatusOK},
		{[]string{"1.1 edge, HTTP/1.1 other", "1.0 other2 (x)"}, http.StatusOK},
		{[]string{"1.1 edge, HTTP/1.1 edge (comment)"}, http.StatusLoopDetected},
		{[]string{"1.1 edge", "1.1 a, 1.1 edge"}, http.StatusLoopDetected},
	} {
		req, _ := http.NewRequest(http.MethodGet, gw.URL+"/v2/loop_service/x", nil)
		for _, v := range tc.via {
			req.Header.Add("Via", v)
		}
		resp, body := get(t, req)
		var d struct{ Detail string }
		_ = json.Unmarshal(body, &d)
		if resp.StatusCode != tc.code || (tc.code != 200 && !strings.Contains(d.Detail, "loop")) {
			t.Errorf("Via %q: %d %s, want %d", tc.via, resp.StatusCode, body, tc.code)
		}
	}
	if hits.Load() != 2 {
		t.Fatalf("%d requests reached the upstream, want the 2 under the limit", hits.Load())
	}
}

func TestOptionsValidateVia(t *testing.T) {
	r, _ := routing.New(staticDirectory{}, portstest.NewFakeClock(time.Unix(0, 0)), nil, routing.Settings{})
	if _, err := proxy.New(proxy.Options{Router: r, Via: "two words"}); err == nil || !strings.Contains(err.Error(), "Via") {
		t.Fatalf("New with a bad Via = %v", err)
	}
}

// An upstream that dies mid-body is the upstream's failure, whether or not
// ReverseProxy panics to cut the client (it does only under an http.Server;
// here the handler is called directly).
func TestUpstreamDyingMidBodyIsServedAs502OutsideAServer(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		_, _ = io.WriteString(w, "short")
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close() // an upstream dying mid-body
		}
	}))
	t.Cleanup(up.Close)
	obs := &countingObserver{}
	r, err := routing.New(staticDirectory{"dying_service": {up.URL}},
		portstest.NewFakeClock(time.Unix(0, 0)), nil, routing.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := proxy.New(proxy.Options{Router: r, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	p.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v2/dying_service/x", nil))
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if strings.Join(obs.served, ",") != "dying_service:502" {
		t.Fatalf("served %v, want dying_service:502", obs.served)
	}
}
