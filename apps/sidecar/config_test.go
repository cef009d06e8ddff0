package main

import (
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/domain/agent"
	"github.com/vertice/vertice/internal/envconf"
	"github.com/vertice/vertice/internal/testkit/testcert"
)

func load(env map[string]string) (Config, error) { return LoadConfig(envconf.Map(env)) }

func validEnv() map[string]string {
	return map[string]string{"SERVICE_NAME": "osint_service", "SERVICE_HOST": "vertice-osint", "SERVICE_PORT": "8049"}
}

func TestDefaultsAreTheSeeds(t *testing.T) {
	c, err := load(validEnv())
	if err != nil {
		t.Fatal(err)
	}
	if c.Endpoint() != "http://vertice-osint:8049" || c.HealthURL() != "http://vertice-osint:8049/health" ||
		c.InstanceID != "vertice-osint:8049" || c.RegistryURL != "http://vertice-register-lb:80" ||
		c.HeartbeatInterval != 30*time.Second || c.InitialWait != 60*time.Second ||
		c.BackoffMax != 60*time.Second || c.StatusAddr != ":9100" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestEveryMissingRequiredVariableIsNamed(t *testing.T) {
	_, err := load(map[string]string{})
	for _, name := range []string{"SERVICE_NAME", "SERVICE_HOST", "SERVICE_PORT"} {
		if err == nil || !strings.Contains(err.Error(), name+": is required") {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestSeedsBadServiceNameIsRefusedWithTheRule(t *testing.T) {
	env := validEnv()
	env["SERVICE_NAME"] = "OSINT-Service"
	_, err := load(env)
	if err == nil {
		t.Fatal("OSINT-Service accepted")
	}
	for _, want := range []string{"SERVICE_NAME:", "uppercase", "hyphens", "osint_service"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestBadValuesAreNamed(t *testing.T) {
	for name, value := range map[string]string{
		"SERVICE_PORT":            "70000",
		"HEARTBEAT_INTERVAL":      "soon",
		"INITIAL_WAIT_TIMEOUT":    "-1",
		"REGISTRY_URL":            "vertice-register-lb:80",
		"SERVICE_HEALTH_ENDPOINT": "health",
		"SERVICE_SCHEME":          "ftp",
		"SERVICE_HOST":            "http://vertice-osint",
		"INSTANCE_ID":             "a b",
		"SERVICE_METADATA":        "version",
		"SIDECAR_ADDR":            "9100",
	} {
		t.Run(name, func(t *testing.T) {
			env := validEnv()
			env[name] = value
			if _, err := load(env); err == nil || !strings.Contains(err.Error(), name+":") {
				t.Fatalf("%s=%q: error %v does not name the variable", name, value, err)
			}
		})
	}
}

// https to the registry and to the service: the URL and scheme are
// accepted, a CA file is read at start (a bad one is a configuration error
// naming the variable), and TLS settings without https are refused as the
// mistake they are.
func TestHTTPSSettings(t *testing.T) {
	ca := testcert.WriteFile(t, t.TempDir(), "ca.pem", testcert.NewCA(t, "test CA").PEM)
	env := validEnv()
	env["REGISTRY_URL"], env["REGISTRY_CA_FILE"], env["REGISTRY_TLS_SERVER_NAME"] = "https://registry:8443", ca, "registry.internal"
	env["SERVICE_SCHEME"], env["SERVICE_TLS_INSECURE"] = "https", "true"
	c, err := load(env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Endpoint() != "https://vertice-osint:8049" || !c.ServiceTLSInsecure || c.RegistryTLS == nil ||
		c.RegistryTLS.RootCAs == nil || c.RegistryTLS.ServerName != "registry.internal" {
		t.Fatalf("%+v", c)
	}
	env = validEnv()
	env["REGISTRY_URL"] = "https://registry:8443"
	if c, err := load(env); err != nil || c.RegistryTLS == nil || c.RegistryTLS.RootCAs != nil {
		t.Fatalf("https without a CA file uses the system's roots: %+v %v", c.RegistryTLS, err)
	}
	for name, bad := range map[string]map[string]string{
		"REGISTRY_CA_FILE":         {"REGISTRY_URL": "https://registry:8443", "REGISTRY_CA_FILE": ca + ".missing"},
		"REGISTRY_TLS_SERVER_NAME": {"REGISTRY_TLS_SERVER_NAME": "registry.internal"},
		"SERVICE_TLS_INSECURE":     {"SERVICE_TLS_INSECURE": "true"},
	} {
		env := validEnv()
		for k, v := range bad {
			env[k] = v
		}
		if _, err := load(env); err == nil || !strings.Contains(err.Error(), name+":") {
			t.Errorf("%v: error %v should name %s", bad, err, name)
		}
	}
}

func TestHeartbeatsCarryTheDefaultJitter(t *testing.T) {
	c, err := load(validEnv())
	if err != nil || c.AgentConfig().HeartbeatJitter != agent.DefaultHeartbeatJitter {
		t.Fatalf("jitter %v, %v", c.AgentConfig().HeartbeatJitter, err)
	}
}

func TestMetadataAsPairsOrJSON(t *testing.T) {
	for _, v := range []string{"version=1.0.0, zone=a", `{"version":"1.0.0","zone":"a"}`} {
		env := validEnv()
		env["SERVICE_METADATA"] = v
		c, err := load(env)
		if err != nil || c.Metadata["version"] != "1.0.0" || c.Metadata["zone"] != "a" || len(c.Metadata) != 2 {
			t.Fatalf("SERVICE_METADATA=%s: %v %v", v, c.Metadata, err)
		}
	}
}

func TestTagsAsListOrJSON(t *testing.T) {
	for v, want := range map[string]string{
		"":                              "",
		"traefik.enable=true, v1,,":     "traefik.enable=true|v1",
		`["a,b","Host(` + "`x`" + `)"]`: "a,b|Host(`x`)",
		" [\"only\"]":                   "only",
		"traefik.http.routers.web.rule=Host(`x`)": "traefik.http.routers.web.rule=Host(`x`)",
	} {
		env := validEnv()
		env["SERVICE_TAGS"] = v
		c, err := load(env)
		if err != nil || strings.Join(c.Tags, "|") != want || strings.Join(c.AgentConfig().Registration.Tags, "|") != want {
			t.Fatalf("SERVICE_TAGS=%s: %q %v", v, c.Tags, err)
		}
	}
	for v, rule := range map[string]string{
		`["a",1]`:                "SERVICE_TAGS: is not a JSON array of strings",
		"ok,two\u0001":           "SERVICE_TAGS: tags[1]",
		strings.Repeat("x", 600): "SERVICE_TAGS: tags[0]",
	} {
		env := validEnv()
		env["SERVICE_TAGS"] = v
		if _, err := load(env); err == nil || !strings.Contains(err.Error(), rule) {
			t.Errorf("SERVICE_TAGS=%q: %v, want %s", v, err, rule)
		}
	}
}

func TestDurationsAcceptSecondsOrGoDurations(t *testing.T) {
	env := validEnv()
	env["HEARTBEAT_INTERVAL"], env["INITIAL_WAIT_TIMEOUT"] = "15", "200ms"
	c, err := load(env)
	if err != nil || c.HeartbeatInterval != 15*time.Second || c.InitialWait != 200*time.Millisecond {
		t.Fatalf("%+v %v", c, err)
	}
}
