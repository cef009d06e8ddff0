package registryapi_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/registryapi"
	"github.com/vertice/vertice/domain/catalog"
)

var now = time.Unix(1761311879, 422453000)

func inst(id, endpoint string, renewed time.Time) catalog.Instance {
	return catalog.Instance{
		Registration: catalog.Registration{ServiceName: "nmap_service", InstanceID: id, Endpoint: endpoint,
			HealthEndpoint: "/health", Metadata: map[string]string{"version": "1.0.0"}},
		RegisteredAt: time.Unix(1761311216, 831753500), LastHeartbeat: renewed, TTL: 60 * time.Second,
	}
}

// The seed's object, byte for byte: field names, their order, no
// instance_id and no instances for a single instance registered as the
// seed's clients register, without an instance ID.
func TestSingleInstanceIsTheSeedsObject(t *testing.T) {
	in := inst("vertice-nmap:8047", "http://vertice-nmap:8047", now.Add(-20*time.Second))
	in.DefaultID = true
	b, err := json.Marshal(registryapi.NewLookup([]catalog.Instance{in}, now))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"service_name":"nmap_service","endpoint":"http://vertice-nmap:8047","health_endpoint":"/health",` +
		`"metadata":{"version":"1.0.0"},"registered_at":1761311216.8317535,"last_heartbeat":1761311859.422453,"ttl_remaining":40}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

// An instance registered with its own ID is listed in the instances
// array even alone, so a client learns the ID it must name (a heartbeat,
// a deregistration); the seed's clients never send one.
func TestSingleInstanceWithItsOwnIDIsListed(t *testing.T) {
	b, _ := json.Marshal(registryapi.NewLookup([]catalog.Instance{inst("nmap-1", "http://vertice-nmap:8047", now)}, now))
	var back registryapi.Lookup
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if got := back.Catalog(); len(got) != 1 || got[0].InstanceID != "nmap-1" || back.Endpoint != "http://vertice-nmap:8047" {
		t.Fatalf("%s read back as %+v", b, got)
	}
}

// Unix seconds in a float64 keep about a microsecond at today's dates.
func TestSeveralInstancesRoundTrip(t *testing.T) {
	list := []catalog.Instance{inst("a", "http://a:1", now), inst("b", "http://b:1", now.Add(-time.Second))}
	b, _ := json.Marshal(registryapi.NewLookup(list, now))
	var back registryapi.Lookup
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	got := back.Catalog()
	if len(got) != 2 || got[0].InstanceID != "a" || got[1].Endpoint != "http://b:1" ||
		got[1].TTL != 59*time.Second || got[0].LastHeartbeat.Sub(now).Abs() > time.Microsecond || got[1].Metadata["version"] != "1.0.0" {
		t.Fatalf("round trip: %+v", got)
	}
}

// The seed's registry sends one object without instance_id: the ID is then
// the endpoint's host:port, the registry's own default.
func TestSeedObjectWithoutInstanceID(t *testing.T) {
	var l registryapi.Lookup
	_ = json.Unmarshal([]byte(`{"service_name":"nmap_service","endpoint":"http://vertice-nmap:8047",
		"health_endpoint":"/health","metadata":{},"registered_at":1761311216.8317535,
		"last_heartbeat":1761311879.422453,"ttl_remaining":40}`), &l)
	got := l.Catalog()
	if len(got) != 1 || got[0].InstanceID != "vertice-nmap:8047" || got[0].LastHeartbeat.Unix() != 1761311879 {
		t.Fatalf("%+v", got)
	}
	var empty registryapi.Lookup
	if got := empty.Catalog(); len(got) != 0 {
		t.Fatalf("an object without endpoint is no instance: %+v", got)
	}
}

func TestRegisterRequestSendsEmptyMetadataAsAnObject(t *testing.T) {
	b, _ := json.Marshal(registryapi.NewRegisterRequest(catalog.Registration{ServiceName: "s", Endpoint: "http://h:1"}))
	if string(b) != `{"service_name":"s","endpoint":"http://h:1","metadata":{}}` {
		t.Fatalf("%s", b)
	}
	r := registryapi.RegisterRequest{ServiceName: "s", InstanceID: "i", Endpoint: "http://h:1", HealthEndpoint: "/h"}.Registration()
	if r.ServiceName != "s" || r.InstanceID != "i" || r.HealthEndpoint != "/h" {
		t.Fatalf("%+v", r)
	}
}

func TestPathsAreEscaped(t *testing.T) {
	if p := registryapi.InstancePath("svc", "10.0.0.1:80/x"); p != "/services/svc/10.0.0.1:80%2Fx" {
		t.Fatalf("InstancePath = %s", p)
	}
}

// Tags are a Vértice addition: present only when the instance has some,
// so the seed's object and a v1 register body keep their exact bytes.
func TestTagsOnlyWhenThereAreSome(t *testing.T) {
	tagged := inst("a", "http://vertice-nmap:8047", now)
	tagged.Tags = []string{"traefik.enable=true", "v1"}
	b, _ := json.Marshal(registryapi.NewLookup([]catalog.Instance{tagged}, now))
	if want := `"ttl_remaining":60,"tags":["traefik.enable=true","v1"]`; !strings.Contains(string(b), want) {
		t.Fatalf("got %s, want tags right after ttl_remaining: %s", b, want)
	}
	var back registryapi.Lookup
	if err := json.Unmarshal(b, &back); err != nil || !slices.Equal(back.Catalog()[0].Tags, tagged.Tags) {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	plain, _ := json.Marshal(registryapi.NewLookup([]catalog.Instance{inst("a", "http://vertice-nmap:8047", now)}, now))
	if strings.Contains(string(plain), "tags") {
		t.Fatalf("no tags must mean no tags field: %s", plain)
	}
	req, _ := json.Marshal(registryapi.NewRegisterRequest(catalog.Registration{ServiceName: "s", Endpoint: "http://h:1", Tags: []string{"x"}}))
	if string(req) != `{"service_name":"s","endpoint":"http://h:1","metadata":{},"tags":["x"]}` {
		t.Fatalf("register request: %s", req)
	}
	var in registryapi.RegisterRequest
	_ = json.Unmarshal(req, &in)
	if r := in.Registration(); !slices.Equal(r.Tags, []string{"x"}) {
		t.Fatalf("request tags lost: %+v", r)
	}
}
