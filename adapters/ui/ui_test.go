package ui_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/memstore"
	"github.com/vertice/vertice/adapters/registryapi"
	"github.com/vertice/vertice/adapters/ui"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/registry"
	"github.com/vertice/vertice/ports"
	"github.com/vertice/vertice/ports/portstest"
)

type fixture struct {
	t     *testing.T
	h     http.Handler
	svc   *registry.Service
	store *memstore.Store
	clock *portstest.FakeClock
}

func newFixture(t *testing.T) *fixture {
	clock := portstest.NewFakeClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	store := memstore.New(clock)
	svc := registry.New(store, store, clock, 60*time.Second)
	h := ui.New(ui.Options{Registry: svc, Health: func(context.Context) registryapi.Health {
		return registryapi.Health{Status: "degraded", Reason: "backend unavailable: dial tcp", Backend: "redis",
			Topology: "sentinel", Breaker: "open", Notifications: "down: reads go to Redis", Version: "v1.2.3"}
	}})
	return &fixture{t: t, h: h, svc: svc, store: store, clock: clock}
}

func (f *fixture) register(r catalog.Registration) {
	f.t.Helper()
	if _, _, err := f.svc.Register(context.Background(), r); err != nil {
		f.t.Fatal(err)
	}
}

// get answers a GET of path: status, headers and body.
func (f *fixture) get(path string) (int, http.Header, string) {
	f.t.Helper()
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, rec.Header(), string(b)
}

func TestServicesPageCountsInstances(t *testing.T) {
	f := newFixture(t)
	f.register(catalog.Registration{ServiceName: "nmap_service", InstanceID: "n1", Endpoint: "http://n1:8047"})
	f.register(catalog.Registration{ServiceName: "nmap_service", InstanceID: "n2", Endpoint: "http://n2:8047",
		Metadata: map[string]string{catalog.StatusKey: catalog.StatusUnhealthy}})
	f.register(catalog.Registration{ServiceName: "osint_service", Endpoint: "http://o:8049"})
	code, h, body := f.get("/ui/")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %v", code, h)
	}
	row := rowOf(t, body, "nmap_service")
	for _, want := range []string{`href="services/nmap_service"`, `<td class="num">2</td>`,
		`<span class="count ok">1</span>`, `<span class="count bad">1</span>`, `class="sick"`} {
		if !strings.Contains(row, want) {
			t.Errorf("nmap_service's row lacks %s:\n%s", want, row)
		}
	}
	if row := rowOf(t, body, "osint_service"); strings.Contains(row, "sick") || !strings.Contains(row, `<td class="num">1</td>`) {
		t.Errorf("osint_service's row: %s", row)
	}
	if !strings.Contains(body, "2 services registered") {
		t.Errorf("no summary in %s", body)
	}
}

// rowOf is the services table's row of name.
func rowOf(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<tr data-filter="[^"]*" data-service="` + name + `".*?</tr>`).FindString(body)
	if m == "" {
		t.Fatalf("no row for %s in:\n%s", name, body)
	}
	return m
}

// The page carries the change feed's index and where to wait, relative to
// the page, so the script's first blocking read misses nothing.
func TestPagesCarryTheIndexTheyWereReadAt(t *testing.T) {
	f := newFixture(t)
	f.register(catalog.Registration{ServiceName: "nmap_service", Endpoint: "http://n1:8047"})
	feed, _ := f.svc.Changes(context.Background(), nil, registry.Block{})
	_, _, body := f.get("/ui/")
	if !strings.Contains(body, `data-watch="../v1/catalog/indexes"`) ||
		!strings.Contains(body, `data-index="`+strconv.FormatUint(feed.Index, 10)+`"`) {
		t.Fatalf("want the feed and index %d in %s", feed.Index, body[:min(len(body), 800)])
	}
	snap, _ := f.svc.Lookup(context.Background(), "nmap_service", registry.Block{})
	_, _, body = f.get("/ui/services/nmap_service")
	if !strings.Contains(body, `data-watch="../../services/nmap_service"`) ||
		!strings.Contains(body, `data-index="`+strconv.FormatUint(snap.Index, 10)+`"`) {
		t.Fatalf("want the lookup and index %d in %s", snap.Index, body[:min(len(body), 800)])
	}
}

func TestFilterHidesRowsWithoutJavaScript(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"nmap_service", "osint_service", "nmap_scanner"} {
		f.register(catalog.Registration{ServiceName: name, Endpoint: "http://" + strings.ReplaceAll(name, "_", "-") + ":1"})
	}
	_, _, body := f.get("/ui/?q=NMAP+serv")
	if row := rowOf(t, body, "nmap_service"); strings.Contains(row, " hidden>") {
		t.Errorf("nmap_service hidden: %s", row)
	}
	for _, name := range []string{"osint_service", "nmap_scanner"} {
		if row := rowOf(t, body, name); !strings.Contains(row, " hidden>") {
			t.Errorf("%s shown: %s", name, row)
		}
	}
	if !strings.Contains(body, `<span id="shown">1</span>`) || !strings.Contains(body, `value="NMAP serv"`) {
		t.Errorf("summary or box: %s", body)
	}
}

func TestServicePageShowsEachInstance(t *testing.T) {
	f := newFixture(t)
	f.register(catalog.Registration{ServiceName: "nmap_service", InstanceID: "nmap-b", Endpoint: "https://b.example:8443/api",
		HealthEndpoint: "/ready", Metadata: map[string]string{"version": "1.0.1", catalog.StatusKey: catalog.StatusUnhealthy}})
	f.clock.Advance(20 * time.Second)
	f.register(catalog.Registration{ServiceName: "nmap_service", InstanceID: "nmap-a", Endpoint: "http://a:8047",
		Metadata: map[string]string{"version": "1.0.0"}})
	f.clock.Advance(5 * time.Second)
	code, _, body := f.get("/ui/services/nmap_service")
	if code != 200 {
		t.Fatalf("%d", code)
	}
	a, b := strings.Index(body, `data-instance="nmap-a"`), strings.Index(body, `data-instance="nmap-b"`)
	if a < 0 || b < a {
		t.Fatalf("instances not listed by ID: %s", body)
	}
	rowB := body[b:]
	rowB = rowB[:strings.Index(rowB, "</tr>")]
	for _, want := range []string{
		`<a class="endpoint" href="https://b.example:8443/api" rel="noopener noreferrer nofollow">`,
		`health /ready`, `>unhealthy</span>`, `<dt>version</dt><dd>1.0.1</dd>`,
		`data-ago="25000">25 s ago</time>`, // registered 25 s before the page
		`max="60000" value="35000" data-left="35000"`, `<span class="left" data-left="35000">35 s</span>`,
	} {
		if !strings.Contains(rowB, want) {
			t.Errorf("nmap-b's row lacks %s:\n%s", want, rowB)
		}
	}
	if !strings.Contains(body, "2 instances") || !strings.Contains(body, "1 healthy") || !strings.Contains(body, "1 unhealthy") {
		t.Errorf("summary: %s", body)
	}
}

// An endpoint that is not an http(s) URL is text, never a link: the
// registration rules refuse one, but the page does not trust the store.
func TestOnlyWebEndpointsAreLinks(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now()
	for id, ep := range map[string]string{"js": "javascript:window.__pwned=1", "data": "data:text/html,<script>1</script>",
		"web": "http://ok:1"} {
		in := catalog.NewInstance(catalog.Registration{ServiceName: "odd_service", InstanceID: id, Endpoint: ep,
			HealthEndpoint: "/health"}, now, time.Minute)
		if _, err := f.store.Put(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	_, _, body := f.get("/ui/services/odd_service")
	if strings.Contains(body, `href="javascript:`) || strings.Contains(body, `href="data:`) ||
		!strings.Contains(body, `<span class="endpoint">javascript:window.__pwned=1</span>`) ||
		!strings.Contains(body, `<a class="endpoint" href="http://ok:1"`) {
		t.Fatalf("links: %s", body)
	}
}

// Everything a registrant controls is escaped: payloads come back as text.
func TestRegistrantDataIsEscaped(t *testing.T) {
	f := newFixture(t)
	payload := `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">`
	f.register(catalog.Registration{ServiceName: "evil_service", Endpoint: "http://x.test/<script>alert(1)</script>",
		HealthEndpoint: "/h<svg/onload=alert(1)>", Metadata: map[string]string{"note": payload, "x": `"><script>1</script>`}})
	for _, path := range []string{"/ui/", "/ui/services/evil_service"} {
		_, _, body := f.get(path)
		for _, bad := range []string{"<script>window", "<img src=x", "<svg", "<script>alert", `"><script>1`} {
			if strings.Contains(body, bad) {
				t.Errorf("%s holds %q unescaped", path, bad)
			}
		}
	}
	_, _, body := f.get("/ui/services/evil_service")
	if !strings.Contains(body, "&lt;script&gt;window.__pwned=1&lt;/script&gt;&lt;img src=x onerror=&#34;window.__pwned=1&#34;&gt;") {
		t.Errorf("the payload should show as text: %s", body)
	}
}

func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/ui/", "/ui/services/nmap_service", "/ui/services/Bad-Name", "/ui/static/app.js",
		"/ui/static/style.css", "/ui/nowhere"} {
		_, h, _ := f.get(path)
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") ||
			strings.Contains(csp, "unsafe-inline") || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", path, h)
		}
	}
}

// The CSP forbids inline script and style: the templates must have none.
func TestNoInlineScriptOrStyle(t *testing.T) {
	f := newFixture(t)
	f.register(catalog.Registration{ServiceName: "nmap_service", Endpoint: "http://n1:8047"})
	inline := regexp.MustCompile(`(?i)<script(\s[^>]*)?>[^<]|<style|\sstyle=|\son[a-z]+=`)
	for _, path := range []string{"/ui/", "/ui/services/nmap_service", "/ui/services/absent_service", "/ui/nowhere"} {
		_, _, body := f.get(path)
		if m := inline.FindString(body); m != "" {
			t.Errorf("%s: inline script or style %q", path, m)
		}
		if !strings.Contains(body, `<script src="`) {
			t.Errorf("%s: no script file", path)
		}
	}
}

func TestAbsentServiceWaitsForIt(t *testing.T) {
	f := newFixture(t)
	code, _, body := f.get("/ui/services/absent_service")
	if code != 404 || !strings.Contains(body, "has no live instance") || strings.Contains(body, `data-index="0"`) ||
		!strings.Contains(body, `data-watch="../../services/absent_service"`) {
		t.Fatalf("%d %s", code, body)
	}
	code, _, body = f.get("/ui/services/Not-A-Name")
	if code != 404 || !strings.Contains(body, "service_name") || !strings.Contains(body, `data-watch=""`) {
		t.Fatalf("bad name: %d %s", code, body)
	}
}

func TestReplicaPanel(t *testing.T) {
	f := newFixture(t)
	_, _, body := f.get("/ui/")
	for _, want := range []string{`<span class="badge bad" id="replica-status">degraded</span>`,
		"backend unavailable: dial tcp", `<span id="replica-backend">Redis Sentinel</span>`,
		`<span class="state open">open</span>`, "down: reads go to Redis", "<code>v1.2.3</code>", `id="replica-index"`} {
		if !strings.Contains(body, want) {
			t.Errorf("replica panel lacks %s", want)
		}
	}
}

func TestStaticFilesRevalidate(t *testing.T) {
	f := newFixture(t)
	code, h, body := f.get("/ui/static/app.js")
	if code != 200 || h.Get("Content-Type") != "text/javascript; charset=utf-8" || h.Get("ETag") == "" ||
		!strings.Contains(body, "waitForChange") {
		t.Fatalf("%d %v", code, h)
	}
	for header, want := range map[string]int{h.Get("ETag"): 304, `"other", ` + h.Get("ETag"): 304, "W/" + h.Get("ETag"): 304,
		"*": 304, `"other"`: 200} {
		req := httptest.NewRequest("GET", "/ui/static/app.js", nil)
		req.Header.Set("If-None-Match", header)
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("If-None-Match %s: %d, want %d", header, rec.Code, want)
		}
	}
	if code, _, _ := f.get("/ui/static/nope.js"); code != 404 {
		t.Fatalf("missing file: %d", code)
	}
}

func TestReadOnly(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/ui/", "/ui/services/x_service", "/ui/elsewhere"} {
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, httptest.NewRequest("POST", path, strings.NewReader("{}")))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: %d", path, rec.Code)
		}
	}
}

// A backend that cannot be read gives a 503 page that says why; the
// script keeps trying.
func TestUnreadableCatalogIs503(t *testing.T) {
	clock := portstest.NewFakeClock(time.Unix(1761310133, 0))
	h := ui.New(ui.Options{Registry: registry.New(downStore{}, nil, clock, 0)})
	for _, path := range []string{"/ui/", "/ui/services/nmap_service"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if b, _ := io.ReadAll(rec.Body); rec.Code != 503 || !strings.Contains(string(b), "could not read its catalog") {
			t.Errorf("%s: %d %s", path, rec.Code, b)
		}
	}
}

type downStore struct{}

var errDown = fmt.Errorf("dial tcp 10.0.0.1:6379: %w", ports.ErrUnavailable)

func (downStore) Put(context.Context, catalog.Instance) (catalog.Change, error) {
	return catalog.Change{}, errDown
}
func (downStore) Renew(context.Context, string, string) (catalog.Instance, error) {
	return catalog.Instance{}, errDown
}
func (downStore) Service(context.Context, string) (catalog.Service, error) {
	return catalog.Service{}, errDown
}
func (downStore) Catalog(context.Context) (catalog.Catalog, error) { return catalog.Catalog{}, errDown }
func (downStore) Delete(context.Context, string, string) (catalog.Change, error) {
	return catalog.Change{}, errDown
}

// Tags show on the services page and the filter finds a service by one.
func TestTagsShowAndFilter(t *testing.T) {
	f := newFixture(t)
	f.register(catalog.Registration{ServiceName: "web", InstanceID: "w1", Endpoint: "http://w1:80", Tags: []string{"traefik.enable=true"}})
	f.register(catalog.Registration{ServiceName: "web", InstanceID: "w2", Endpoint: "http://w2:80", Tags: []string{"canary"}})
	f.register(catalog.Registration{ServiceName: "db", Endpoint: "http://db:5432"})
	_, _, body := f.get("/ui/?q=canary")
	row := rowOf(t, body, "web")
	if !strings.Contains(row, "canary") || !strings.Contains(row, "traefik.enable=true") || strings.Contains(row, " hidden>") {
		t.Errorf("web's row should show both instances' tags and match canary: %s", row)
	}
	if row := rowOf(t, body, "db"); !strings.Contains(row, " hidden>") {
		t.Errorf("db has no canary tag and should be hidden: %s", row)
	}
}
