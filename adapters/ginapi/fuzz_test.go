package ginapi_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/vertice/vertice/domain/catalog"
)

// FuzzRegister sends any body to POST /register. The API never panics and
// never answers 5xx to a client's bytes; a refusal is a 4xx with a
// detail; what it stores reads back, valid, in lookups and in service
// discovery (under its own labels only). The seed corpus runs with every
// `go test`.
func FuzzRegister(f *testing.F) {
	for _, body := range []string{
		seedBody,
		`{"service_name":"svc","endpoint":"http://h:1","instance_id":"i-1","health_endpoint":"/h?x=1","metadata":{"a.b":"1","a_b":"2"}}`,
		`{"service_name":"svc","endpoint":"http://admin:s3cret@10.0.0.5:8080/?x=1#f"}`,
		`{"service_name":"svc","endpoint":"http://h:1","metadata":{"__metrics_path__":"/admin/secret","__param_cmd":"drop","job":"vertice-registry"}}`,
		`{"service_name":"svc","endpoint":"http://h:1","health_endpoint":"/health\r\nX: 1"}`,
		`{"service_name":"svc","endpoint":"http://h:1","metadata":{"k":"\u0000<>&\u2028"}}`,
		`{"service_name":"svc","endpoint":"http://h:1","metadata":null}`,
		`{"service_name":"svc","endpoint":"http://h:1"} {}`,
		`{"service_name":"svc","service_name":"other","endpoint":"http://h:1"}`,
		`{"SERVICE_NAME":"svc","Endpoint":"http://h:1"}`,
		`[]`, `null`, `"x"`, `{`, ``, "\xff",
	} {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		fx := newFixture(t, "")
		code, out := fx.do("POST", "/register", body)
		var msg struct {
			Detail      string `json:"detail"`
			ServiceName string `json:"service_name"`
			InstanceID  string `json:"instance_id"`
		}
		if err := json.Unmarshal([]byte(out), &msg); err != nil {
			t.Fatalf("%d answer is not JSON: %v: %s", code, err, out)
		}
		switch code {
		case 200, 201:
		case 400, 413:
			if msg.Detail == "" {
				t.Fatalf("%d without a detail: %s", code, out)
			}
			if sd := fx.mustDo(200, "GET", "/v1/sd/prometheus", ""); sd != "[]" {
				t.Fatalf("a refused registration was stored: %s", sd)
			}
			return
		default:
			t.Fatalf("body %q: status %d: %s", body, code, out)
		}
		lookup := fx.mustDo(200, "GET", "/services/"+url.PathEscape(msg.ServiceName), "")
		var stored struct {
			ServiceName    string            `json:"service_name"`
			Endpoint       string            `json:"endpoint"`
			HealthEndpoint string            `json:"health_endpoint"`
			Metadata       map[string]string `json:"metadata"`
		}
		if err := json.Unmarshal([]byte(lookup), &stored); err != nil {
			t.Fatal(err)
		}
		again := catalog.Registration{ServiceName: stored.ServiceName, InstanceID: msg.InstanceID,
			Endpoint: stored.Endpoint, HealthEndpoint: stored.HealthEndpoint, Metadata: stored.Metadata}
		if _, err := again.Normalize(); err != nil {
			t.Fatalf("stored %s does not validate: %v", lookup, err)
		}
		var groups []struct {
			Labels map[string]string `json:"labels"`
		}
		if err := json.Unmarshal([]byte(fx.mustDo(200, "GET", "/v1/sd/prometheus", "")), &groups); err != nil || len(groups) != 1 {
			t.Fatalf("service discovery: %v %v", groups, err)
		}
		for name := range groups[0].Labels {
			if name != "service" && name != "instance_id" && name != "__scheme__" && !strings.HasPrefix(name, "__meta_vertice_") {
				t.Fatalf("label %q in service discovery", name)
			}
		}
	})
}
