package ginapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vertice/vertice/adapters/ginapi"
	"github.com/vertice/vertice/adapters/memstore"
	"github.com/vertice/vertice/adapters/promstats"
	"github.com/vertice/vertice/domain/registry"
	"github.com/vertice/vertice/ports/portstest"
)

const seedBody = `{"service_name":"my_service","endpoint":"http://vertice-my-service:8080",` +
	`"health_endpoint":"/health","metadata":{"version":"1.0.0"}}`

type fixture struct {
	t     testing.TB
	h     http.Handler
	clock *portstest.FakeClock
}

func newFixture(t testing.TB, token string) *fixture {
	clock := portstest.NewFakeClock(time.Unix(1761310133, 187383000))
	store := memstore.New(clock)
	svc := registry.New(store, store, clock, 60*time.Second)
	reg := prometheus.NewRegistry()
	stats, err := promstats.NewRegistry(reg, func(ctx context.Context) (int, error) {
		cat, err := svc.List(ctx, registry.Block{})
		return len(cat.Services), err
	})
	if err != nil {
		t.Fatal(err)
	}
	h := ginapi.New(ginapi.Options{
		Registry: svc,
		Token:    token,
		Observer: stats,
		Metrics:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
	})
	return &fixture{t: t, h: h, clock: clock}
}

func (f *fixture) do(method, path, body string, header ...string) (int, string) {
	f.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func (f *fixture) mustDo(want int, method, path, body string, header ...string) string {
	f.t.Helper()
	code, out := f.do(method, path, body, header...)
	if code != want {
		f.t.Fatalf("%s %s: want %d, got %d %s", method, path, want, code, out)
	}
	return out
}

func TestSeedFlow(t *testing.T) {
	f := newFixture(t, "")
	f.mustDo(201, "POST", "/register", seedBody)
	f.mustDo(200, "POST", "/register", seedBody) // replaced, not created
	if got := f.mustDo(200, "GET", "/services", ""); got != `["my_service"]` {
		t.Fatalf("list: %s", got)
	}
	f.clock.Advance(14 * time.Second)
	var obj map[string]any
	if err := json.Unmarshal([]byte(f.mustDo(200, "GET", "/services/my_service", "")), &obj); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := "endpoint,health_endpoint,last_heartbeat,metadata,registered_at,service_name,ttl_remaining"
	if strings.Join(keys, ",") != want {
		t.Fatalf("fields %v, want exactly the seed's %s", keys, want)
	}
	if obj["endpoint"] != "http://vertice-my-service:8080" || obj["ttl_remaining"] != 46.0 ||
		obj["registered_at"] != 1761310133.187383 || obj["metadata"].(map[string]any)["version"] != "1.0.0" {
		t.Fatalf("values: %v", obj)
	}
	f.clock.Advance(46 * time.Second)
	out := f.mustDo(404, "GET", "/services/my_service", "")
	if !strings.Contains(out, `"detail"`) || !strings.Contains(out, "my_service") {
		t.Fatalf("404 should name the service: %s", out)
	}
	if got := f.mustDo(200, "GET", "/services", ""); got != `[]` {
		t.Fatalf("expired service still listed: %s", got)
	}
}

func TestHeartbeatExtendsAnd404sWhenForgotten(t *testing.T) {
	f := newFixture(t, "")
	f.mustDo(201, "POST", "/register", seedBody)
	f.clock.Advance(59 * time.Second)
	out := f.mustDo(200, "POST", "/heartbeat", `{"service_name":"my_service"}`)
	if !strings.Contains(out, `"ttl_remaining":60`) {
		t.Fatalf("heartbeat should restart the lease: %s", out)
	}
	f.clock.Advance(59 * time.Second)
	f.mustDo(200, "GET", "/services/my_service", "")
	f.mustDo(404, "POST", "/heartbeat", `{"service_name":"my_service","instance_id":"other:1"}`)
	f.mustDo(404, "POST", "/heartbeat", `{"service_name":"osint_service"}`)
}

func TestSeveralInstances(t *testing.T) {
	f := newFixture(t, "")
	f.mustDo(201, "POST", "/register", `{"service_name":"svc","endpoint":"http://a:1"}`)
	f.clock.Advance(time.Second)
	f.mustDo(201, "POST", "/register", `{"service_name":"svc","endpoint":"http://b:1"}`)
	var obj struct {
		Endpoint  string
		Instances []struct {
			InstanceID string `json:"instance_id"`
		}
	}
	json.Unmarshal([]byte(f.mustDo(200, "GET", "/services/svc", "")), &obj)
	if obj.Endpoint != "http://b:1" || len(obj.Instances) != 2 || obj.Instances[0].InstanceID != "b:1" {
		t.Fatalf("most recently renewed first, all listed: %+v", obj)
	}
	f.mustDo(200, "DELETE", "/services/svc/b:1", "")
	out := f.mustDo(200, "GET", "/services/svc", "")
	if strings.Contains(out, "instances") || !strings.Contains(out, "http://a:1") {
		t.Fatalf("one instance left, seed shape: %s", out)
	}
	f.mustDo(200, "DELETE", "/services/svc", "")
	f.mustDo(404, "DELETE", "/services/svc", "")
	f.mustDo(404, "GET", "/services/svc", "")
}

func TestBadInputChangesNothing(t *testing.T) {
	many := make([]string, 65)
	for i := range many {
		many[i] = fmt.Sprintf(`"k%d":"v"`, i)
	}
	huge := `{"service_name":"big","endpoint":"http://h:1","metadata":{"k":"` + strings.Repeat("x", 70<<10) + `"}}`
	cases := []struct {
		name, method, path, body string
		status                   int
		detail                   string
	}{
		{"malformed JSON", "POST", "/register", `{"service_name":`, 400, "malformed JSON"},
		{"not an object", "POST", "/register", `[1,2]`, 400, "must be a JSON object"},
		{"empty body", "POST", "/register", ``, 400, "is empty"},
		{"two objects", "POST", "/register", seedBody + seedBody, 400, "single JSON object"},
		{"unknown field", "POST", "/register", `{"service_name":"x","endpoint":"http://h:1","color":"red"}`, 400, `unknown field "color"`},
		{"missing service_name", "POST", "/register", `{"endpoint":"http://h:1"}`, 400, "service_name: is required"},
		{"uppercase and hyphen", "POST", "/register", `{"service_name":"OSINT-Service","endpoint":"http://h:1"}`, 400, "must not contain uppercase letters, must not contain hyphens"},
		{"dots", "POST", "/register", `{"service_name":"osint.service","endpoint":"http://h:1"}`, 400, "must not contain dots"},
		{"name not a string", "POST", "/register", `{"service_name":5,"endpoint":"http://h:1"}`, 400, "service_name: must be a JSON string"},
		{"missing endpoint", "POST", "/register", `{"service_name":"svc"}`, 400, "endpoint: is required"},
		{"relative endpoint", "POST", "/register", `{"service_name":"svc","endpoint":"vertice-nmap:8047"}`, 400, "endpoint: \"vertice-nmap:8047\" must be an absolute http(s) URL"},
		{"ftp endpoint", "POST", "/register", `{"service_name":"svc","endpoint":"ftp://h:21"}`, 400, "absolute http(s) URL"},
		{"body over 64 KiB", "POST", "/register", huge, 413, "at most 65536 bytes"},
		{"65 metadata keys", "POST", "/register", `{"service_name":"svc","endpoint":"http://h:1","metadata":{` + strings.Join(many, ",") + `}}`, 400, "metadata: has 65 keys; at most 64"},
		{"metadata value not string", "POST", "/register", `{"service_name":"svc","endpoint":"http://h:1","metadata":{"port":8080}}`, 400, "metadata: values must be JSON strings"},
		{"metadata not object", "POST", "/register", `{"service_name":"svc","endpoint":"http://h:1","metadata":"v1"}`, 400, "metadata: must be a JSON object"},
		{"health not a path", "POST", "/register", `{"service_name":"svc","endpoint":"http://h:1","health_endpoint":"health"}`, 400, "health_endpoint: must be a path"},
		{"bad instance_id", "POST", "/register", `{"service_name":"svc","endpoint":"http://h:1","instance_id":"a b"}`, 400, "instance_id:"},
		{"heartbeat unknown field", "POST", "/heartbeat", `{"service_name":"my_service","ttl":5}`, 400, `unknown field "ttl"`},
		{"heartbeat bad name", "POST", "/heartbeat", `{"service_name":"My_Service"}`, 400, "uppercase"},
		{"lookup bad name", "GET", "/services/My-Service", ``, 400, "uppercase"},
		{"delete bad name", "DELETE", "/services/My-Service", ``, 400, "uppercase"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, "")
			f.mustDo(201, "POST", "/register", seedBody)
			before := f.mustDo(200, "GET", "/services/my_service", "") + f.mustDo(200, "GET", "/services", "")
			code, out := f.do(c.method, c.path, c.body)
			var msg struct{ Detail string }
			if err := json.Unmarshal([]byte(out), &msg); err != nil || code != c.status || !strings.Contains(msg.Detail, c.detail) {
				t.Fatalf("want %d with detail containing %q, got %d %s", c.status, c.detail, code, out)
			}
			after := f.mustDo(200, "GET", "/services/my_service", "") + f.mustDo(200, "GET", "/services", "")
			if before != after {
				t.Fatalf("store changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func TestTokenGuardsWritesOnly(t *testing.T) {
	f := newFixture(t, "s3cret")
	for _, auth := range []string{"", "Bearer wrong", "s3cret", "Basic s3cret"} {
		code, out := f.do("POST", "/register", seedBody, "Authorization", auth)
		if code != 401 || !strings.Contains(out, "bearer token") {
			t.Fatalf("auth %q: want 401, got %d %s", auth, code, out)
		}
	}
	f.mustDo(404, "GET", "/services/my_service", "") // nothing was stored
	f.mustDo(201, "POST", "/register", seedBody, "Authorization", "Bearer s3cret")
	f.mustDo(401, "POST", "/heartbeat", `{"service_name":"my_service"}`)
	f.mustDo(401, "DELETE", "/services/my_service", "")
	f.mustDo(200, "POST", "/heartbeat", `{"service_name":"my_service"}`, "Authorization", "Bearer s3cret")
	f.mustDo(200, "GET", "/services/my_service", "")
	f.mustDo(200, "GET", "/services", "")
	f.mustDo(200, "DELETE", "/services/my_service", "", "Authorization", "Bearer s3cret")
}

func TestHealthAndUnknownRoutes(t *testing.T) {
	f := newFixture(t, "")
	if out := f.mustDo(200, "GET", "/health", ""); out != `{"status":"healthy","backend":"memory"}` {
		t.Fatalf("health: %s", out)
	}
	f.mustDo(404, "GET", "/nope", "")
	f.mustDo(405, "PUT", "/register", "")
}

func TestMetricsMove(t *testing.T) {
	f := newFixture(t, "")
	f.mustDo(201, "POST", "/register", seedBody)
	f.mustDo(200, "GET", "/services/my_service", "")
	f.mustDo(404, "GET", "/services/ghost", "")
	f.mustDo(400, "POST", "/register", `{}`)
	out := f.mustDo(200, "GET", "/metrics", "")
	for _, line := range []string{
		`registry_operations_total{operation="register",status="success"} 1`,
		`registry_operations_total{operation="register",status="client_error"} 1`,
		`registry_operations_total{operation="lookup",status="success"} 1`,
		`registry_operations_total{operation="lookup",status="not_found"} 1`,
		`registry_active_services 1`,
		`registry_operation_duration_seconds_count{operation="lookup"} 2`,
	} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("metrics lack %q", line)
		}
	}
	f.mustDo(200, "DELETE", "/services/my_service", "")
	if out := f.mustDo(200, "GET", "/metrics", ""); !strings.Contains(out, "registry_active_services 0\n") {
		t.Error("active services should drop to 0")
	}
}

func TestUnavailableStoreIs503WithRetryAfter(t *testing.T) {
	clock := portstest.NewFakeClock(time.Unix(1761310133, 0))
	svc := registry.New(downStore{}, nil, clock, 0)
	h := ginapi.New(ginapi.Options{Registry: svc})
	req := httptest.NewRequest("POST", "/register", strings.NewReader(seedBody))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || !strings.Contains(string(body), "unavailable") {
		t.Fatalf("got %d %q %s", rec.Code, rec.Header().Get("Retry-After"), body)
	}
}

func TestPrometheusServiceDiscovery(t *testing.T) {
	f := newFixture(t, "")
	if got := f.mustDo(200, "GET", "/v1/sd/prometheus", ""); got != "[]" {
		t.Fatalf("empty registry: %s", got)
	}
	f.mustDo(201, "POST", "/register", `{"service_name":"demo","endpoint":"http://demo-1:8080","metadata":{"version":"1.0.0","team.name":"core"}}`)
	f.mustDo(201, "POST", "/register", `{"service_name":"demo","endpoint":"https://demo-2:8443"}`)
	f.mustDo(201, "POST", "/register", `{"service_name":"api","endpoint":"http://api:9000","metadata":{"status":"unhealthy"}}`)
	var groups []struct {
		Targets []string
		Labels  map[string]string
	}
	if err := json.Unmarshal([]byte(f.mustDo(200, "GET", "/v1/sd/prometheus", "")), &groups); err != nil {
		t.Fatal(err)
	}
	if len(groups) != 3 {
		t.Fatalf("want one group per instance, got %+v", groups)
	}
	byTarget := map[string]map[string]string{}
	for _, g := range groups {
		if len(g.Targets) != 1 {
			t.Fatalf("one target per group: %+v", g)
		}
		byTarget[g.Targets[0]] = g.Labels
	}
	d1 := byTarget["demo-1:8080"]
	if d1["service"] != "demo" || d1["instance_id"] != "demo-1:8080" || d1["__scheme__"] != "http" ||
		d1["__meta_vertice_metadata_version"] != "1.0.0" || d1["__meta_vertice_metadata_team_name"] != "core" {
		t.Fatalf("demo-1 labels: %v", d1)
	}
	if byTarget["demo-2:8443"]["__scheme__"] != "https" || byTarget["api:9000"]["__meta_vertice_healthy"] != "false" {
		t.Fatalf("labels: %v", byTarget)
	}
}
