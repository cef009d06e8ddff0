package consulapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/consulapi"
	"github.com/vertice/vertice/adapters/memstore"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/registry"
	"github.com/vertice/vertice/ports/portstest"
)

type fixture struct {
	t     *testing.T
	h     http.Handler
	svc   *registry.Service
	clock *portstest.FakeClock
	ops   *recorder
}

// recorder is an Observer that keeps what it was told.
type recorder struct {
	mu  sync.Mutex
	ops []string
}

func (r *recorder) Served(op string, code int, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, op+" "+strconv.Itoa(code))
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.ops
	r.ops = nil
	return out
}

func newFixture(t *testing.T, token string) *fixture {
	clock := portstest.NewFakeClock(time.Unix(1761310133, 0))
	store := memstore.New(clock)
	svc := registry.New(store, store, clock, 60*time.Second)
	ops := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h := consulapi.New(consulapi.Options{Registry: svc, Token: token, Observer: ops, Context: ctx})
	return &fixture{t: t, h: h, svc: svc, clock: clock, ops: ops}
}

type answer struct {
	code   int
	body   string
	header http.Header
}

func (a answer) index() uint64 {
	n, _ := strconv.ParseUint(a.header.Get("X-Consul-Index"), 10, 64)
	return n
}

func (f *fixture) do(method, path, body string, header ...string) answer {
	f.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return answer{rec.Code, rec.Body.String(), rec.Header()}
}

func (f *fixture) must(want int, method, path, body string, header ...string) answer {
	f.t.Helper()
	a := f.do(method, path, body, header...)
	if a.code != want {
		f.t.Fatalf("%s %s: want %d, got %d %s", method, path, want, a.code, a.body)
	}
	return a
}

func (f *fixture) decode(path string, v any) answer {
	f.t.Helper()
	a := f.must(200, "GET", path, "")
	if err := json.Unmarshal([]byte(a.body), v); err != nil {
		f.t.Fatalf("GET %s: %v in %s", path, err, a.body)
	}
	return a
}

// register is what the recorded Consul answers were made with.
const benchService = `{"Name":"bench_service","ID":"b1","Address":"10.0.0.1","Port":80,"Check":{"TTL":"60s"}}`

func TestRegisterPassReadDeregister(t *testing.T) {
	f := newFixture(t, "")
	f.must(200, "PUT", "/v1/agent/service/register", `{"Name":"web","ID":"w1","Address":"10.0.0.2","Port":8080,`+
		`"Tags":["traefik.enable=true","v2"],"Meta":{"version":"2.0"},"Check":{"TTL":"10s"}}`)
	var entries []consulapi.ServiceEntry
	a := f.decode("/v1/health/service/web", &entries)
	if len(entries) != 1 {
		t.Fatalf("entries: %s", a.body)
	}
	e := entries[0]
	if e.Service.ID != "w1" || e.Service.Service != "web" || e.Service.Address != "10.0.0.2" || e.Service.Port != 8080 ||
		strings.Join(e.Service.Tags, ",") != "traefik.enable=true,v2" || e.Service.Meta["version"] != "2.0" ||
		e.Node.Node != "10.0.0.2" || e.Node.Datacenter != "dc1" || e.Node.Address != "10.0.0.2" {
		t.Fatalf("entry: %+v", e)
	}
	// A TTL check starts critical, as on Consul, until the service passes it.
	if len(e.Checks) != 1 || e.Checks[0].Status != "critical" || e.Checks[0].CheckID != "service:w1" || e.Checks[0].Type != "ttl" {
		t.Fatalf("checks: %+v", e.Checks)
	}
	f.decode("/v1/health/service/web?passing", &entries)
	if len(entries) != 0 {
		t.Fatalf("passing: a critical instance was listed: %+v", entries)
	}
	before := a.index()
	f.clock.Advance(9 * time.Second)
	f.must(200, "PUT", "/v1/agent/check/pass/service:w1?note=ok", "")
	a = f.decode("/v1/health/service/web?passing=1", &entries)
	if len(entries) != 1 || entries[0].Checks[0].Status != "passing" || a.index() <= before {
		t.Fatalf("after pass: index %d (was %d), %s", a.index(), before, a.body)
	}
	// The pass renewed the 10 s lease: 9 s later it is still there.
	f.clock.Advance(9 * time.Second)
	passed := a.index()
	f.must(200, "PUT", "/v1/agent/check/pass/service:w1", "")
	if a := f.decode("/v1/health/service/web", &entries); a.index() != passed || len(entries) != 1 {
		t.Fatalf("a pass that changes nothing moved the index (%d, was %d) or lost the instance: %s", a.index(), passed, a.body)
	}
	for verb, want := range map[string]string{"warn": "warning", "fail": "critical", "pass": "passing"} {
		f.must(200, "PUT", "/v1/agent/check/"+verb+"/service:w1", "")
		f.decode("/v1/health/service/web", &entries)
		if entries[0].Checks[0].Status != want {
			t.Fatalf("%s: status %s, want %s", verb, entries[0].Checks[0].Status, want)
		}
	}
	for status := range map[string]bool{"warning": true, "critical": true, "passing": true} {
		f.must(200, "PUT", "/v1/agent/check/update/service:w1", `{"Status":"`+status+`","Output":"x"}`)
		f.decode("/v1/health/service/web", &entries)
		if entries[0].Checks[0].Status != status {
			t.Fatalf("update %s: status %s", status, entries[0].Checks[0].Status)
		}
	}
	var services map[string][]string
	f.decode("/v1/catalog/services", &services)
	if len(services) != 1 || strings.Join(services["web"], ",") != "traefik.enable=true,v2" {
		t.Fatalf("catalog/services: %v", services)
	}
	f.must(200, "PUT", "/v1/agent/service/deregister/w1", "")
	f.decode("/v1/health/service/web", &entries)
	if len(entries) != 0 {
		t.Fatalf("deregistered, still listed: %+v", entries)
	}
	f.must(404, "PUT", "/v1/agent/service/deregister/w1", "")
	f.must(404, "PUT", "/v1/agent/check/pass/service:w1", "")
	if got := strings.Join(f.ops.take(), ","); !strings.HasPrefix(got, "register 200,lookup 200,lookup 200,heartbeat 200,") ||
		!strings.Contains(got, "list 200,deregister 200") || !strings.HasSuffix(got, "deregister 404,heartbeat 404") {
		t.Fatalf("operations observed: %s", got)
	}
}

func TestLeaseEndsWhenPassesStop(t *testing.T) {
	f := newFixture(t, "")
	f.must(200, "PUT", "/v1/agent/service/register", `{"Name":"web","ID":"w1","Address":"h","Check":{"TTL":"5s","Status":"passing"}}`)
	var entries []consulapi.ServiceEntry
	f.decode("/v1/health/service/web?passing", &entries)
	if len(entries) != 1 || entries[0].Service.Port != 80 {
		t.Fatalf("Check.Status passing starts passing; no port is http's 80: %+v", entries)
	}
	f.clock.Advance(5 * time.Second)
	f.decode("/v1/health/service/web", &entries)
	if len(entries) != 0 {
		t.Fatalf("the 5 s lease ended: %+v", entries)
	}
	f.must(404, "PUT", "/v1/agent/check/pass/service:w1", "")
}

func TestRegistrationRefusals(t *testing.T) {
	f := newFixture(t, "")
	for body, detail := range map[string]string{
		`{"Name":"web","Address":"h"}`:                                                     "Check: exactly one check with a TTL is required (0 given)",
		`{"Name":"web","Address":"h","Check":{"TTL":"5s"},"Checks":[{"TTL":"5s"}]}`:        "(2 given)",
		`{"Name":"web","Address":"h","Check":{"HTTP":"http://h/health","Interval":"10s"}}`: "Check.HTTP: is not supported; Vértice does not probe",
		`{"Name":"web","Address":"h","Checks":[{"TCP":"h:1","Interval":"10s"}]}`:           "Check.TCP: is not supported",
		`{"Name":"web","Address":"h","Check":{"TTL":"soon"}}`:                              `Check.TTL: \"soon\" must be a duration`,
		`{"Name":"web","Address":"h","Check":{"TTL":"2h"}}`:                                "Check.TTL: 2h0m0s must be from 1s to 1h0m0s",
		`{"Name":"web","Address":"h","Check":{"TTL":"100ms"}}`:                             "Check.TTL: 100ms must be from 1s",
		`{"Name":"web","Address":"h","Check":{"TTL":"5s","Status":"fine"}}`:                "Check.Status",
		`{"Name":"web","Address":"h","Check":{"TTL":"5s","CheckID":"mine"}}`:               `Check.CheckID: \"mine\" is not supported`,
		`{"Name":"web-api","Address":"h","Check":{"TTL":"5s"}}`:                            "Name: \\\"web-api\\\" must not contain hyphens",
		`{"Name":"web","ID":"a/b","Address":"h","Check":{"TTL":"5s"}}`:                     "ID: \\\"a/b\\\" may contain only",
		`{"Name":"web","Check":{"TTL":"5s"}}`:                                              "Address: is required",
		`{"Address":"h","Check":{"TTL":"5s"}}`:                                             "Name: is required",
		`{"Name":"web","Address":"h","Port":70000,"Check":{"TTL":"5s"}}`:                   "Port: 70000 must be from 0 to 65535",
		`{"Name":"web","Address":"h","Meta":{"__x":"y"},"Check":{"TTL":"5s"}}`:             `Meta: key \"__x\" starts with __`,
		`{"Name":"web","Address":"h","Tags":["a\nb"],"Check":{"TTL":"5s"}}`:                "Tags[0]:",
		`{"Name":"web","Address":"h","Kind":"connect-proxy","Check":{"TTL":"5s"}}`:         "Kind:",
		`{"Name":"web","Address":"h","Connect":{"Native":true},"Check":{"TTL":"5s"}}`:      "no service mesh",
		`{"Name":"web","Address":"h","Namespace":"team","Check":{"TTL":"5s"}}`:             "only the default namespace",
		`{"Name":"web","Address":"h","Colour":"red","Check":{"TTL":"5s"}}`:                 `unknown field \"Colour\"`,
		`{"Name":"web","Address":"h","Check":{"TTL":"5s"}} {}`:                             "a single JSON object",
		``: "is empty",
	} {
		a := f.do("PUT", "/v1/agent/service/register", body)
		if a.code != 400 || !strings.Contains(a.body, detail) {
			t.Errorf("%s: got %d %s, want 400 with %s", body, a.code, a.body, detail)
		}
	}
	var services map[string][]string
	f.decode("/v1/catalog/services", &services)
	if len(services) != 0 {
		t.Fatalf("refused registrations stored something: %v", services)
	}
	// Ignored fields are accepted: they change nothing Vértice serves.
	f.must(200, "PUT", "/v1/agent/service/register", `{"Name":"web","Address":"h","Weights":{"Passing":3,"Warning":1},`+
		`"EnableTagOverride":true,"TaggedAddresses":{"lan":{"Address":"h","Port":1}},"Check":{"TTL":"5s","Name":"mine",`+
		`"Notes":"n","DeregisterCriticalServiceAfter":"1m"},"Checks":null,"Proxy":null,"Connect":null}`)
	var entries []consulapi.ServiceEntry
	f.decode("/v1/health/service/web", &entries)
	if len(entries) != 1 || entries[0].Service.ID != "web" {
		t.Fatalf("the ID defaults to the name: %+v", entries)
	}
}

func TestServiceIDsAreUniqueAcrossServices(t *testing.T) {
	f := newFixture(t, "")
	f.must(200, "PUT", "/v1/agent/service/register", `{"Name":"web","ID":"x1","Address":"h","Check":{"TTL":"5s"}}`)
	a := f.must(409, "PUT", "/v1/agent/service/register", `{"Name":"api","ID":"x1","Address":"h","Check":{"TTL":"5s"}}`)
	if !strings.Contains(a.body, `already the ID of an instance of service \"web\"`) {
		t.Fatalf("409 body: %s", a.body)
	}
	f.must(200, "PUT", "/v1/agent/service/register", `{"Name":"web","ID":"x1","Address":"h2","Check":{"TTL":"5s"}}`)
	// Through the native API two services may share an instance ID: the
	// Consul API then cannot tell which one a check update means.
	if _, _, err := f.svc.Register(context.Background(), catalog.Registration{ServiceName: "api", InstanceID: "x2", Endpoint: "http://h:1"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Register(context.Background(), catalog.Registration{ServiceName: "web", InstanceID: "x2", Endpoint: "http://h:1"}); err != nil {
		t.Fatal(err)
	}
	a = f.must(409, "PUT", "/v1/agent/check/pass/service:x2", "")
	if !strings.Contains(a.body, `held by instances of \"api\" and \"web\"`) {
		t.Fatalf("ambiguous ID: %s", a.body)
	}
	// A check registered in a Checks list is service:<id>:1 on Consul.
	f.must(200, "PUT", "/v1/agent/service/register", `{"Name":"web","ID":"x3","Address":"h","Checks":[{"TTL":"5s"}]}`)
	f.must(200, "PUT", "/v1/agent/check/pass/service:x3:1", "")
	var entries []consulapi.ServiceEntry
	f.decode("/v1/health/service/web?passing", &entries)
	if len(entries) != 2 || entries[0].Service.ID != "x2" || entries[1].Service.ID != "x3" {
		t.Fatalf("passing: want x2 (native, reports nothing) and x3 (passed), got %+v", entries)
	}
	f.must(404, "PUT", "/v1/agent/check/pass/node-check", "")
	f.must(400, "PUT", "/v1/agent/check/pass/service:x3?dc=dc9", "")
	f.must(400, "PUT", "/v1/agent/service/deregister/x3?ns=team", "")
	f.must(400, "PUT", "/v1/agent/check/update/service:x3", `{"Status":"fine"}`)
}

func TestTokenGuardsWrites(t *testing.T) {
	f := newFixture(t, "s3cret")
	body := `{"Name":"web","Address":"h","Check":{"TTL":"5s"}}`
	for _, h := range [][]string{nil, {"X-Consul-Token", "wrong"}, {"Authorization", "Bearer wrong"}} {
		if a := f.do("PUT", "/v1/agent/service/register", body, h...); a.code != 403 || !strings.Contains(a.body, "permission denied") {
			t.Fatalf("token %v: got %d %s", h, a.code, a.body)
		}
	}
	f.must(403, "PUT", "/v1/agent/check/pass/service:web", "")
	f.must(403, "PUT", "/v1/agent/service/deregister/web", "")
	f.must(200, "PUT", "/v1/agent/service/register", body, "X-Consul-Token", "s3cret")
	f.must(200, "PUT", "/v1/agent/check/pass/service:web", "", "Authorization", "Bearer s3cret")
	f.must(200, "GET", "/v1/health/service/web", "") // reads stay open
}

func TestReadParameters(t *testing.T) {
	f := newFixture(t, "")
	f.must(200, "PUT", "/v1/agent/service/register", `{"Name":"web","ID":"a","Address":"10.0.0.1","Port":1,"Tags":["blue","v1"],`+
		`"Meta":{"zone":"a"},"Check":{"TTL":"30s","Status":"passing"}}`)
	f.must(200, "PUT", "/v1/agent/service/register", `{"Name":"web","ID":"b","Address":"10.0.0.2","Port":1,"Tags":["green","v1"],`+
		`"Meta":{"zone":"b"},"Check":{"TTL":"30s","Status":"warning"}}`)
	ids := func(path string) string {
		t.Helper()
		var entries []consulapi.ServiceEntry
		f.decode(path, &entries)
		var out []string
		for _, e := range entries {
			out = append(out, e.Service.ID)
		}
		return strings.Join(out, ",")
	}
	for path, want := range map[string]string{
		"/v1/health/service/web":                                                                "a,b",
		"/v1/health/service/web?tag=v1":                                                         "a,b",
		"/v1/health/service/web?tag=v1&tag=green":                                               "b",
		"/v1/health/service/web?tag=red":                                                        "",
		"/v1/health/service/web?passing":                                                        "a",
		"/v1/health/service/web?passing=false":                                                  "a,b",
		"/v1/health/service/web?dc=dc1&stale&cached&near=_agent":                                "a,b",
		"/v1/health/service/web?node-meta=rack:1":                                               "",
		`/v1/health/service/web?filter=Service.Meta.zone+%3D%3D+"b"`:                            "b",
		`/v1/health/service/web?filter="blue"+in+Service.Tags`:                                  "a",
		`/v1/health/service/web?filter=Service.Meta.missing+!%3D+"x"`:                           "a,b",
		`/v1/health/service/web?filter=Node.Address+matches+"^10[.]0[.]0[.]2$"`:                 "b",
		`/v1/health/service/web?filter=Service.Port+%3D%3D+1+and+not+("green"+in+Service.Tags)`: "a",
		"/v1/health/service/nothing":                                                            "",
	} {
		if got := ids(path); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
	var services map[string][]string
	f.decode(`/v1/catalog/services?filter=ServiceMeta.zone+%3D%3D+"b"`, &services)
	if strings.Join(services["web"], ",") != "green,v1" {
		t.Errorf("catalog/services with a filter keeps the tags of the instances that pass: %v", services)
	}
	var checks []consulapi.HealthCheck
	f.decode("/v1/health/state/warning", &checks)
	if len(checks) != 1 || checks[0].ServiceID != "b" {
		t.Errorf("state/warning: %+v", checks)
	}
	f.decode("/v1/health/checks/web", &checks)
	if len(checks) != 2 {
		t.Errorf("checks/web: %+v", checks)
	}
	for path, detail := range map[string]string{
		"/v1/health/service/web?dc=dc2":                           `dc: \"dc2\" is not this registry's datacenter (dc1)`,
		"/v1/health/service/web?ns=team":                          "only the default namespace",
		"/v1/health/service/web?peer=other":                       "no cluster peering",
		"/v1/health/service/web?stale&consistent":                 "cannot be asked together",
		"/v1/health/service/web?index=x":                          "index:",
		"/v1/health/service/web?index=1&wait=30":                  `wait: \"30\" must be a duration`,
		"/v1/health/service/web?hash=abc":                         "hash-based blocking is not supported",
		"/v1/health/service/web?passing=maybe":                    "passing:",
		"/v1/health/service/web?node-meta=rack":                   "must be key:value",
		"/v1/health/service/web?filter=Service.Tags+%3D%3D":       "is not a valid expression",
		"/v1/health/service/web?filter=Service.Kind+%3D%3D+x":     "cannot be evaluated",
		"/v1/health/service/nothing?filter=Service.Kind+%3D%3D+x": "cannot be evaluated", // even with nothing to filter
		"/v1/catalog/service/web?filter=Service.ID+%3D%3D+a":      "cannot be evaluated", // catalog entries have ServiceID
		"/v1/health/state/sick":                                   "state: sick must be",
		"/v1/health/service/Web":                                  "must not contain uppercase",
	} {
		if a := f.do("GET", path, ""); a.code != 400 || !strings.Contains(a.body, detail) {
			t.Errorf("%s: got %d %s, want 400 with %s", path, a.code, a.body, detail)
		}
	}
}

// Traefik pairs catalog/service's entries with health/service's by
// position: both come in instance ID order, whatever was renewed last.
func TestEntriesComeInIDOrder(t *testing.T) {
	f := newFixture(t, "")
	for _, id := range []string{"c", "a", "b"} {
		f.must(200, "PUT", "/v1/agent/service/register", `{"Name":"web","ID":"`+id+`","Address":"h`+id+`","Check":{"TTL":"30s","Status":"passing"}}`)
	}
	f.must(200, "PUT", "/v1/agent/check/fail/service:a", "")
	f.clock.Advance(time.Second)
	f.must(200, "PUT", "/v1/agent/check/pass/service:c", "")
	var health []consulapi.ServiceEntry
	var cat []consulapi.CatalogService
	f.decode("/v1/health/service/web", &health)
	f.decode("/v1/catalog/service/web", &cat)
	var h, c []string
	for i := range health {
		h = append(h, health[i].Service.ID)
		c = append(c, cat[i].ServiceID)
	}
	if strings.Join(h, ",") != "a,b,c" || strings.Join(c, ",") != "a,b,c" {
		t.Fatalf("health %v, catalog %v: want a,b,c for both", h, c)
	}
}

func TestUnsupportedEndpointsSaySo(t *testing.T) {
	f := newFixture(t, "")
	for _, path := range []string{"/v1/agent/members", "/v1/catalog/nodes", "/v1/health/connect/web", "/v1/status/other"} {
		a := f.must(404, "GET", path, "")
		var e struct{ Detail string }
		if err := json.Unmarshal([]byte(a.body), &e); err != nil || !strings.Contains(e.Detail, "GET "+path+": this Consul endpoint is not supported") {
			t.Errorf("%s: %s", path, a.body)
		}
	}
	f.must(405, "GET", "/v1/agent/service/register", "")
	var self struct {
		Config struct{ Datacenter, NodeName string }
	}
	f.decode("/v1/agent/self", &self)
	if self.Config.Datacenter != "dc1" || self.Config.NodeName != "vertice" {
		t.Fatalf("agent/self: %+v", self)
	}
	var leader string
	f.decode("/v1/status/leader", &leader)
	if leader == "" {
		t.Fatal("status/leader: empty means no leader to Consul's clients")
	}
}

func TestClaimsLeavesVerticesOwnPaths(t *testing.T) {
	native := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(299) })
	consul := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(298) })
	h := consulapi.Beside(native, consul)
	for path, want := range map[string]int{
		"/v1/catalog/indexes": 299, "/v1/sd/prometheus": 299, "/services/x": 299, "/register": 299, "/v1/kv/x": 299,
		"/v1/catalog/services": 298, "/v1/health/service/x": 298, "/v1/agent/self": 298, "/v1/status/leader": 298,
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want {
			t.Errorf("%s went to %d, want %d", path, rec.Code, want)
		}
	}
}
