package main

import (
	"net/url"
	"strings"
	"testing"

	"github.com/vertice/vertice/internal/envconf"
)

// validFuzzEnv is a configuration that loads; each fuzz case changes one
// variable of it.
func validFuzzEnv() map[string]string {
	return map[string]string{"SERVICE_NAME": "osint_service", "SERVICE_HOST": "vertice-osint", "SERVICE_PORT": "8049"}
}

// FuzzLoadConfig sets one variable to anything. LoadConfig must not panic,
// and what it accepts must be what the registry accepts: a sidecar that
// starts with a registration the registry refuses retries forever.
//
//	go test -fuzz FuzzLoadConfig ./apps/sidecar/
func FuzzLoadConfig(f *testing.F) {
	for _, seed := range [][2]string{
		{"SERVICE_NAME", "Bad-Name"},
		{"SERVICE_HOST", "10.0.0.5"},
		{"SERVICE_HOST", "host:80"},
		{"SERVICE_HOST", "[::1]"},
		{"SERVICE_PORT", "65536"},
		{"SERVICE_HEALTH_ENDPOINT", "/health?full=1"},
		{"SERVICE_HEALTH_ENDPOINT", "health"},
		{"SERVICE_SCHEME", "https"},
		{"INSTANCE_ID", "a b"},
		{"REGISTRY_URL", "http://admin:pw@registry:80"},
		{"REGISTRY_URL", "https://registry"},
		{"REGISTRY_TIMEOUT", "0"},
		{"HEARTBEAT_INTERVAL", "1ns"},
		{"SIDECAR_ADDR", "9100"},
		{"SERVICE_METADATA", "version=1.0.0,zone=a"},
		// Loaded once, then refused by the registry forever (found by
		// fuzzing): now refused at start.
		{"SERVICE_METADATA", `{"":"x"}`},
		{"SERVICE_METADATA", strings.Repeat("k", 200) + "=v"},
		{"SERVICE_METADATA", "k=" + strings.Repeat("v", 5000)},
		{"SERVICE_HEALTH_ENDPOINT", "/health\r\nX: y"},
		{"SERVICE_HEALTH_ENDPOINT", "/%zz"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		env := validFuzzEnv()
		env[name] = value
		cfg, err := LoadConfig(envconf.Map(env))
		if err != nil {
			return
		}
		checkRegistrable(t, cfg)
	})
}

// FuzzMetadata feeds SERVICE_METADATA both ways it is written: pairs
// ("k=v,k2=v2") and a JSON object. Accepted metadata has only non-empty,
// trimmed keys and is accepted by the registry.
func FuzzMetadata(f *testing.F) {
	for _, seed := range []string{
		"version=1.0.0,zone=a", " a = b , ,c=", "=x", "a", "a=b=c", `{"a":"b"}`, `{"a":1}`, `{`,
		`{"a":"b"} trailing`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		env := validFuzzEnv()
		env["SERVICE_METADATA"] = v
		cfg, err := LoadConfig(envconf.Map(env))
		if err != nil {
			return
		}
		if !strings.HasPrefix(strings.TrimSpace(v), "{") {
			for k, val := range cfg.Metadata {
				if k == "" || k != strings.TrimSpace(k) || val != strings.TrimSpace(val) {
					t.Fatalf("SERVICE_METADATA=%q gave key %q value %q", v, k, val)
				}
			}
		}
		checkRegistrable(t, cfg)
	})
}

// checkRegistrable holds an accepted configuration to the registry's rules
// and to the URLs the sidecar builds from it.
func checkRegistrable(t *testing.T, cfg Config) {
	t.Helper()
	if _, err := cfg.AgentConfig().Registration.Normalize(); err != nil {
		t.Fatalf("config loads but the registry would refuse its registration: %v\n%+v", err, cfg)
	}
	if i := strings.IndexFunc(cfg.HealthEndpoint, func(r rune) bool { return r <= ' ' || r == 0x7f }); i >= 0 {
		t.Fatalf("SERVICE_HEALTH_ENDPOINT %q loads with a space or control character: not a request target", cfg.HealthEndpoint)
	}
	u, err := url.Parse(cfg.HealthURL())
	if err != nil || u.Scheme != cfg.ServiceScheme || u.Hostname() != cfg.ServiceHost {
		t.Fatalf("health URL %q does not point at SERVICE_HOST %q (%v)", cfg.HealthURL(), cfg.ServiceHost, err)
	}
}
