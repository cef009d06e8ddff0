package catalog

import (
	"errors"
	"fmt"
	"strconv"
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
		{"health with a broken escape", func(r *Registration) { r.HealthEndpoint = "/health%zz" }, "health_endpoint"},
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

// Endpoints must not carry what a client could smuggle through them (issue
// 12, item 6): credentials come back in lookups, SD and logs; a query or
// fragment is not part of a base URL; CR/LF would split requests.
func TestNormalizeRejectsSmuggledEndpointParts(t *testing.T) {
	cases := []struct {
		name, endpoint, health, field, rule string
	}{
		{"credentials", "http://admin:s3cret@10.0.0.5:8080/", "", "endpoint", "credentials"},
		{"user only", "http://admin@10.0.0.5:8080", "", "endpoint", "credentials"},
		{"query", "http://10.0.0.5:8080/?x=1", "", "endpoint", "query"},
		{"empty query", "http://10.0.0.5:8080/?", "", "endpoint", "query"},
		{"fragment", "http://10.0.0.5:8080/#f", "", "endpoint", "fragment"},
		{"the review's URL", "http://admin:s3cret@10.0.0.5:8080/?x=1#f", "", "endpoint", "credentials"},
		{"space", "http://h:1/a b", "", "endpoint", "spaces or control characters"},
		{"CR LF", "http://h:1/a\r\nX-Evil: 1", "", "endpoint", "spaces or control characters"},
		{"no host name", "http://:8080", "", "endpoint", "absolute http(s) URL"},
		{"port zero", "http://h:0", "", "endpoint", "port"},
		{"port too big", "http://h:65536", "", "endpoint", "port"},
		{"too long", "http://h:1/" + strings.Repeat("a", MaxEndpointLen), "", "endpoint", "at most 512"},
		{"health CR LF", "http://h:1", "/health\r\nX-Evil: 1", "health_endpoint", "control characters"},
		{"health tab", "http://h:1", "/hea\tlth", "health_endpoint", "control characters"},
		{"health other host", "http://h:1", "//evil.example/health", "health_endpoint", "single /"},
		{"health fragment", "http://h:1", "/health#x", "health_endpoint", "fragment"},
		{"health too long", "http://h:1", "/" + strings.Repeat("h", MaxHealthPathLen), "health_endpoint", "at most 256"},
	}
	for _, c := range cases {
		_, err := Registration{ServiceName: "svc", Endpoint: c.endpoint, HealthEndpoint: c.health}.Normalize()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Rule, c.rule) {
			t.Errorf("%s: want a %s error saying %q, got %v", c.name, c.field, c.rule, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error repeats the credentials: %v", c.name, err)
		}
	}
	for _, ok := range []string{"http://vertice-nmap:8047", "https://10.0.0.5/base/path", "http://127.0.0.1:8080/x", "http://h:65535"} {
		if _, err := (Registration{ServiceName: "svc", Endpoint: ok, HealthEndpoint: "/health?full=1"}).Normalize(); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// Metadata keys become Prometheus label names in service discovery (issue
// 12, item 1): they follow a label-safe charset, and __ is Prometheus's.
func TestNormalizeMetadataKeys(t *testing.T) {
	for _, ok := range []string{"version", "zone", "status", "_x", "app.kubernetes.io-name", "A1",
		strings.Repeat("k", MaxMetadataKeyLen)} {
		if _, err := (Registration{ServiceName: "svc", Endpoint: "http://h:1", Metadata: map[string]string{ok: "v"}}).Normalize(); err != nil {
			t.Errorf("key %q: %v", ok, err)
		}
	}
	cases := map[string]string{
		"__metrics_path__":                       "starts with __",
		"__param_cmd":                            "starts with __",
		"":                                       "is empty",
		"1abc":                                   "must start with a letter",
		"-x":                                     "must start with a letter",
		"a b":                                    "character outside",
		"a/b":                                    "character outside",
		"a\nb":                                   "character outside",
		"naïve":                                  "character outside",
		strings.Repeat("k", MaxMetadataKeyLen+1): "longer than 64",
	}
	for key, rule := range cases {
		_, err := Registration{ServiceName: "svc", Endpoint: "http://h:1", Metadata: map[string]string{"ok": "1", key: "v"}}.Normalize()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "metadata" || !strings.Contains(fe.Rule, rule) ||
			!strings.Contains(fe.Rule, strconv.Quote(key)) {
			t.Errorf("key %q: want a metadata error naming the key and saying %q, got %v", key, rule, err)
		}
	}
	// Several bad keys: the answer names the same one every time.
	md := map[string]string{"__b": "", "__a": "", "__c": "", "__d": ""}
	for range 20 {
		_, err := Registration{ServiceName: "svc", Endpoint: "http://h:1", Metadata: md}.Normalize()
		if err == nil || !strings.Contains(err.Error(), `"__a"`) {
			t.Fatalf("want the first bad key in order, got %v", err)
		}
	}
}

// Metadata is bounded as a whole, not only key by key (issue 12, item 2).
func TestNormalizeMetadataBytes(t *testing.T) {
	md := map[string]string{}
	for i := range 5 {
		md[fmt.Sprintf("k%d", i)] = strings.Repeat("v", 1000) // 5 × 1002 bytes, each value within its limit
	}
	_, err := Registration{ServiceName: "svc", Endpoint: "http://h:1", Metadata: md}.Normalize()
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "metadata" || !strings.Contains(fe.Rule, "5010 bytes") ||
		!strings.Contains(fe.Rule, "at most 4096") {
		t.Fatalf("want a metadata error giving the size and the limit, got %v", err)
	}
	if _, err := (Registration{ServiceName: "svc", Endpoint: "http://h:1", Metadata: md}).NormalizeWithin(Limits{MetadataBytes: 6000}); err != nil {
		t.Fatalf("a raised limit: %v", err)
	}
}

// A registration without instance_id is the v1 API's: its ID is derived,
// and only such instances answer to a name-only heartbeat (item 11).
func TestNormalizeMarksDerivedIDs(t *testing.T) {
	r, err := Registration{ServiceName: "svc", Endpoint: "http://h:1"}.Normalize()
	if err != nil || !r.DefaultID || r.InstanceID != "h:1" {
		t.Fatalf("derived ID: %+v %v", r, err)
	}
	r, err = Registration{ServiceName: "svc", Endpoint: "http://h:1", InstanceID: "h:1"}.Normalize()
	if err != nil || r.DefaultID {
		t.Fatalf("an ID the client gave, even the one it would derive, is its own: %+v %v", r, err)
	}
}
