package ginapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The registry side of issue 12, through the HTTP API as a client sees it.
// Each case changes nothing stored and answers 400 naming the field and
// the rule.

// Item 6: an endpoint carries no credentials, query or fragment, and a
// health path no CR/LF; the credentials are not echoed either.
func TestEndpointsCarryNothingSmuggled(t *testing.T) {
	cases := []struct{ name, body, detail string }{
		{"the review's endpoint", `{"service_name":"svc","endpoint":"http://admin:s3cret@10.0.0.5:8080/?x=1#f"}`, "endpoint: must not contain credentials"},
		{"query", `{"service_name":"svc","endpoint":"http://10.0.0.5:8080/?x=1"}`, "endpoint: must not contain a query"},
		{"fragment", `{"service_name":"svc","endpoint":"http://10.0.0.5:8080/#f"}`, "endpoint: must not contain a fragment"},
		{"CR LF in health", `{"service_name":"svc","endpoint":"http://h:1","health_endpoint":"/health\r\nX-Injected: 1"}`, "health_endpoint: must not contain spaces or control characters"},
		{"health on another host", `{"service_name":"svc","endpoint":"http://h:1","health_endpoint":"//evil.example/"}`, "health_endpoint: must be a path starting with a single /"},
		{"long endpoint", `{"service_name":"svc","endpoint":"http://h:1/` + strings.Repeat("p", 600) + `"}`, "endpoint: must be at most 512 characters"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, "")
			code, out := f.do("POST", "/register", c.body)
			var msg struct{ Detail string }
			if err := json.Unmarshal([]byte(out), &msg); err != nil || code != 400 || !strings.HasPrefix(msg.Detail, c.detail) {
				t.Fatalf("want 400 %q, got %d %s", c.detail, code, out)
			}
			if strings.Contains(out, "s3cret") {
				t.Fatalf("the answer repeats the password: %s", out)
			}
			f.mustDo(404, "GET", "/services/svc", "")
			if sd := f.mustDo(200, "GET", "/v1/sd/prometheus", ""); sd != "[]" {
				t.Fatalf("service discovery lists a refused registration: %s", sd)
			}
		})
	}
}

// Item 1: metadata keys that Prometheus would act on are refused, naming
// the key and the rule.
func TestHostileMetadataKeysAreRefused(t *testing.T) {
	f := newFixture(t, "")
	body := `{"service_name":"svc","endpoint":"http://h:1","metadata":` +
		`{"__metrics_path__":"/admin/secret","__param_cmd":"drop","job":"vertice-registry"}}`
	code, out := f.do("POST", "/register", body)
	if code != 400 || !strings.Contains(out, `metadata: key \"__metrics_path__\" starts with __`) ||
		!strings.Contains(out, "letters, digits") {
		t.Fatalf("want 400 naming __metrics_path__ and the rule, got %d %s", code, out)
	}
	f.mustDo(404, "GET", "/services/svc", "")
	for _, key := range []string{"a b", "1st", "a/b", "x\u00e9"} {
		body := fmt.Sprintf(`{"service_name":"svc","endpoint":"http://h:1","metadata":{%q:"v"}}`, key)
		if code, out := f.do("POST", "/register", body); code != 400 || !strings.Contains(out, "metadata: key") {
			t.Errorf("key %q: want 400, got %d %s", key, code, out)
		}
	}
}

// Item 1: keys that pass the rule but look like labels only ever appear
// under __meta_vertice_metadata_, and never replace service discovery's
// own labels; keys that map to one label name answer the same every time.
func TestMetadataStaysUnderItsPrefixInServiceDiscovery(t *testing.T) {
	f := newFixture(t, "")
	f.mustDo(201, "POST", "/register", `{"service_name":"demo","endpoint":"http://demo-1:8080","metadata":`+
		`{"job":"vertice-registry","instance":"evil:1","service":"other","instance_id":"x","status":"healthy",`+
		`"_metrics_path__":"/admin","a.b":"dot","a_b":"underscore","a-b":"hyphen"}}`)
	var first string
	for i := range 20 {
		out := f.mustDo(200, "GET", "/v1/sd/prometheus", "")
		if i == 0 {
			first = out
		} else if out != first {
			t.Fatalf("service discovery answers differently for the same catalog:\n%s\n%s", first, out)
		}
	}
	var groups []struct {
		Targets []string
		Labels  map[string]string
	}
	if err := json.Unmarshal([]byte(first), &groups); err != nil || len(groups) != 1 {
		t.Fatalf("%v: %s", err, first)
	}
	l := groups[0].Labels
	if l["service"] != "demo" || l["instance_id"] != "demo-1:8080" || l["__scheme__"] != "http" ||
		groups[0].Targets[0] != "demo-1:8080" {
		t.Fatalf("metadata replaced discovery's own labels: %v %v", groups[0].Targets, l)
	}
	for name := range l {
		switch {
		case name == "service", name == "instance_id", name == "__scheme__":
		case strings.HasPrefix(name, "__meta_vertice_"):
		default:
			t.Errorf("label %q is neither ours nor under __meta_vertice_", name)
		}
	}
	if l["__meta_vertice_metadata_job"] != "vertice-registry" || l["__meta_vertice_metadata__metrics_path__"] != "/admin" {
		t.Fatalf("metadata must be kept under its prefix: %v", l)
	}
}

// Item 2: one instance's metadata is bounded as a whole: 64 values of 1000
// bytes each fit the per-value rule but not the instance's budget.
func TestMetadataIsBoundedAsAWhole(t *testing.T) {
	f := newFixture(t, "")
	md := make([]string, 0, 64)
	for i := range 40 {
		md = append(md, fmt.Sprintf(`"k%d":%q`, i, strings.Repeat("v", 1000)))
	}
	body := `{"service_name":"svc","endpoint":"http://h:1","metadata":{` + strings.Join(md, ",") + `}}`
	code, out := f.do("POST", "/register", body)
	if code != 400 || !strings.Contains(out, "metadata: keys and values add up to") || !strings.Contains(out, "at most 4096") {
		t.Fatalf("want 400 naming the metadata budget, got %d %.300s", code, out)
	}
	f.mustDo(404, "GET", "/services/svc", "")
}

// Item 11: a name-only heartbeat (a v1 client) renews the instances
// registered without instance_id only, so a sidecar that crashed is not
// kept alive by another's heartbeats, and a v1 client is told to register
// again once nothing of its kind is left.
func TestNameOnlyHeartbeatRenewsOnlyV1Instances(t *testing.T) {
	f := newFixture(t, "")
	f.mustDo(201, "POST", "/register", `{"service_name":"svc","endpoint":"http://a:1","instance_id":"sidecar-a"}`)
	f.mustDo(201, "POST", "/register", `{"service_name":"svc","endpoint":"http://b:1","instance_id":"sidecar-b"}`)
	f.mustDo(201, "POST", "/register", `{"service_name":"svc","endpoint":"http://v1:1"}`)
	for range 4 { // sidecar-a crashed; sidecar-b and the v1 client beat
		f.clock.Advance(30 * time.Second)
		f.mustDo(200, "POST", "/heartbeat", `{"service_name":"svc","instance_id":"sidecar-b"}`)
		f.mustDo(200, "POST", "/heartbeat", `{"service_name":"svc"}`)
	}
	var obj struct {
		Instances []struct {
			InstanceID string `json:"instance_id"`
		}
	}
	json.Unmarshal([]byte(f.mustDo(200, "GET", "/services/svc", "")), &obj)
	ids := []string{}
	for _, in := range obj.Instances {
		ids = append(ids, in.InstanceID)
	}
	if strings.Join(ids, ",") != "sidecar-b,v1:1" && strings.Join(ids, ",") != "v1:1,sidecar-b" {
		t.Fatalf("want sidecar-b and the v1 instance live, sidecar-a expired; got %v", ids)
	}
	f.mustDo(200, "DELETE", "/services/svc/v1:1", "")
	code, out := f.do("POST", "/heartbeat", `{"service_name":"svc"}`)
	if code != 404 || !strings.Contains(out, "instance_id") {
		t.Fatalf("only named instances left: want 404 asking for instance_id, got %d %s", code, out)
	}
}
