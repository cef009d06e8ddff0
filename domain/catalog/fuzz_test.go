package catalog

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var keyPattern = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_.-]{0,63}$`)

// FuzzNormalize holds Normalize to its promises for any input: it never
// panics; it fails with a *FieldError naming a field and a rule; and what
// it accepts is safe to store and show (an http(s) endpoint with a host
// and nothing smuggled, a single-slash printable health path, label-safe
// metadata keys within the budget), and normalizing it again changes
// nothing. The seed corpus runs with every `go test`.
func FuzzNormalize(f *testing.F) {
	f.Add("nmap_service", "", "http://vertice-nmap:8047", "/health", "version", "1.0.0")
	f.Add("svc", "a:1", "https://10.0.0.5/base", "", "status", "healthy")
	f.Add("svc", "", "http://admin:s3cret@10.0.0.5:8080/?x=1#f", "/health", "__metrics_path__", "/admin/secret")
	f.Add("svc", "", "http://h:1", "/health\r\nX-Evil: 1", "job", "vertice-registry")
	f.Add("svc", "", "http://h:1", "//evil.example/", "a.b-c", "")
	f.Add("OSINT-Service", "a b", "vertice-nmap:8047", "health", "1x", "v")
	f.Add("svc", "", "http://[::1]:8080", "/", "_", strings.Repeat("v", 1025))
	f.Add("svc", "", "http://h:99999", "/h", "é", "v")
	f.Add("svc", "", "http://h%00:1", "/%0d%0a", "k", "v\x00")
	f.Add("svc", "", "HTTP://H:1/", "/h?x=1", "k", "v")
	f.Fuzz(func(t *testing.T, name, id, endpoint, health, key, value string) {
		in := Registration{ServiceName: name, InstanceID: id, Endpoint: endpoint, HealthEndpoint: health,
			Metadata: map[string]string{key: value, "version": "1"}}
		r, err := in.Normalize()
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field == "" || fe.Rule == "" {
				t.Fatalf("error %v (%T) is not a FieldError with a field and a rule", err, err)
			}
			return
		}
		u, perr := url.Parse(r.Endpoint)
		switch {
		case perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "":
			t.Fatalf("accepted endpoint %q is not an http(s) URL with a host", r.Endpoint)
		case u.User != nil || u.RawQuery != "" || u.ForceQuery || strings.Contains(r.Endpoint, "#"):
			t.Fatalf("accepted endpoint %q carries credentials, a query or a fragment", r.Endpoint)
		case len(r.Endpoint) > MaxEndpointLen || hasSpaceOrControl(r.Endpoint):
			t.Fatalf("accepted endpoint %q is too long or holds spaces or control characters", r.Endpoint)
		case !strings.HasPrefix(r.HealthEndpoint, "/") || strings.HasPrefix(r.HealthEndpoint, "//") ||
			hasSpaceOrControl(r.HealthEndpoint) || len(r.HealthEndpoint) > MaxHealthPathLen:
			t.Fatalf("accepted health path %q", r.HealthEndpoint)
		case ValidateServiceName(r.ServiceName) != nil || ValidateInstanceID(r.InstanceID) != nil:
			t.Fatalf("accepted name %q or instance ID %q that do not validate", r.ServiceName, r.InstanceID)
		case r.DefaultID != (id == ""):
			t.Fatalf("DefaultID %v for instance_id %q", r.DefaultID, id)
		}
		total := 0
		for k, v := range r.Metadata {
			if !keyPattern.MatchString(k) || strings.HasPrefix(k, "__") {
				t.Fatalf("accepted metadata key %q", k)
			}
			total += len(k) + len(v)
		}
		if total > DefaultMaxMetadataBytes {
			t.Fatalf("accepted %d bytes of metadata", total)
		}
		again, err := r.Normalize()
		if err != nil || again.Endpoint != r.Endpoint || again.InstanceID != r.InstanceID ||
			again.HealthEndpoint != r.HealthEndpoint || again.DefaultID != r.DefaultID || len(again.Metadata) != len(r.Metadata) {
			t.Fatalf("normalizing again changed %+v into %+v (%v)", r, again, err)
		}
	})
}
