package catalog

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestServiceNameRules(t *testing.T) {
	for _, ok := range []string{"osint_service", "nmap_service", "visual_cortex", "svc2", "_x"} {
		if err := ValidateServiceName(ok); err != nil {
			t.Errorf("%q should be valid: %v", ok, err)
		}
	}
	cases := map[string][]string{
		"OSINT-Service":                   {"uppercase", "hyphens"},
		"osint.service":                   {"dots"},
		"a b":                             {"spaces"},
		"naïve":                           {"other characters"},
		"":                                {"is required"},
		strings.Repeat("a", MaxNameLen+1): {"at most 64"},
	}
	for name, rules := range cases {
		err := ValidateServiceName(name)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "service_name" {
			t.Fatalf("%q: want a service_name FieldError, got %v", name, err)
		}
		for _, rule := range rules {
			if !strings.Contains(err.Error(), rule) {
				t.Errorf("%q: error %q should mention %q", name, err, rule)
			}
		}
	}
	if err := ValidateServiceName("OSINT-Service"); strings.Contains(err.Error(), "dots") {
		t.Errorf("only broken rules are listed: %v", err)
	}
}

func TestNormalizeDefaults(t *testing.T) {
	r, err := Registration{ServiceName: "my_service", Endpoint: "http://vertice-my-service:8080"}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if r.InstanceID != "vertice-my-service:8080" || r.HealthEndpoint != "/health" || r.Metadata == nil {
		t.Fatalf("defaults not applied: %+v", r)
	}
}

func TestNormalizeRejects(t *testing.T) {
	base := Registration{ServiceName: "svc", Endpoint: "http://h:1"}
	many := map[string]string{}
	for i := 0; i <= MaxMetadataKeys; i++ {
		many[strings.Repeat("k", i+1)] = "v"
	}
	cases := []struct {
		name  string
		edit  func(*Registration)
		field string
	}{
		{"no endpoint", func(r *Registration) { r.Endpoint = "" }, "endpoint"},
		{"relative endpoint", func(r *Registration) { r.Endpoint = "vertice-nmap:8047" }, "endpoint"},
		{"ftp endpoint", func(r *Registration) { r.Endpoint = "ftp://h:21" }, "endpoint"},
		{"health not a path", func(r *Registration) { r.HealthEndpoint = "health" }, "health_endpoint"},
		{"bad instance id", func(r *Registration) { r.InstanceID = "a/b" }, "instance_id"},
		{"too many metadata keys", func(r *Registration) { r.Metadata = many }, "metadata"},
		{"long metadata value", func(r *Registration) {
			r.Metadata = map[string]string{"k": strings.Repeat("v", MaxMetadataValueLen+1)}
		}, "metadata.k"},
	}
	for _, c := range cases {
		r := base
		c.edit(&r)
		_, err := r.Normalize()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: want FieldError on %s, got %v", c.name, c.field, err)
		}
	}
}

func TestNormalizeCopiesMetadata(t *testing.T) {
	md := map[string]string{"version": "1"}
	r, _ := Registration{ServiceName: "svc", Endpoint: "http://h:1", Metadata: md}.Normalize()
	md["version"] = "2"
	if r.Metadata["version"] != "1" {
		t.Fatal("the stored registration must not share the caller's map")
	}
}

func TestLeaseMath(t *testing.T) {
	t0 := time.Unix(1761310133, 187383000)
	in := NewInstance(Registration{ServiceName: "svc"}, t0, 60*time.Second)
	if in.TTLRemaining(t0) != 60 || in.Expired(t0) {
		t.Fatal("fresh lease")
	}
	if got := in.TTLRemaining(t0.Add(14*time.Second + 400*time.Millisecond)); got != 46 {
		t.Fatalf("want 46 s left (rounded), got %d", got)
	}
	if !in.Expired(t0.Add(60*time.Second)) || in.TTLRemaining(t0.Add(90*time.Second)) != 0 {
		t.Fatal("lease must end at exactly TTL and never go negative")
	}
	r := in.Renewed(t0.Add(50 * time.Second))
	if r.Expired(t0.Add(100*time.Second)) || !r.RegisteredAt.Equal(t0) {
		t.Fatal("renewal restarts the lease and keeps registered_at")
	}
}

func TestSortPreferredAndLive(t *testing.T) {
	t0 := time.Unix(1000, 0)
	mk := func(id, status string, beat int) Instance {
		in := NewInstance(Registration{ServiceName: "svc", InstanceID: id,
			Metadata: map[string]string{StatusKey: status}}, t0, time.Minute)
		return in.Renewed(t0.Add(time.Duration(beat) * time.Second))
	}
	list := []Instance{mk("sick", StatusUnhealthy, 50), mk("old", StatusHealthy, 10), mk("new", "", 40), mk("b", "", 40)}
	SortPreferred(list)
	var order []string
	for _, in := range list {
		order = append(order, in.InstanceID)
	}
	if strings.Join(order, ",") != "b,new,old,sick" {
		t.Fatalf("order %v", order)
	}
	live := Live(list, t0.Add(75*time.Second)) // old (10+60) has expired
	if len(live) != 3 || len(list) != 4 {
		t.Fatalf("live %d of %d", len(live), len(list))
	}
}
