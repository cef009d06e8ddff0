package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/envconf"
	"github.com/vertice/vertice/internal/testkit/testcert"
)

func TestConfigDefaults(t *testing.T) {
	c, err := LoadConfig(envconf.Map(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8888" || c.TTL != 60*time.Second || c.StaleCacheTTL != 60*time.Second || c.Backend() != "memory" ||
		c.MaxInstancesPerService != 100 || c.MaxMetadataBytes != 4096 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestConfigLimits(t *testing.T) {
	c, err := LoadConfig(envconf.Map(map[string]string{
		"REGISTRY_MAX_INSTANCES_PER_SERVICE": "7", "REGISTRY_MAX_METADATA_BYTES": "1024"}))
	if err != nil || c.MaxInstancesPerService != 7 || c.MaxMetadataBytes != 1024 {
		t.Fatalf("%+v %v", c, err)
	}
	_, err = LoadConfig(envconf.Map(map[string]string{
		"REGISTRY_MAX_INSTANCES_PER_SERVICE": "0", "REGISTRY_MAX_METADATA_BYTES": "1MB"}))
	for _, want := range []string{"REGISTRY_MAX_INSTANCES_PER_SERVICE", "REGISTRY_MAX_METADATA_BYTES"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v should name %s", err, want)
		}
	}
}

func TestConfigConsulNames(t *testing.T) {
	c, err := LoadConfig(envconf.Map(nil))
	if err != nil || c.Datacenter != "dc1" || c.NodeName != "vertice" {
		t.Fatalf("defaults: %q %q %v", c.Datacenter, c.NodeName, err)
	}
	c, err = LoadConfig(envconf.Map(map[string]string{"REGISTRY_DATACENTER": "eu-west_1", "REGISTRY_NODE_NAME": "reg-1"}))
	if err != nil || c.Datacenter != "eu-west_1" || c.NodeName != "reg-1" {
		t.Fatalf("%q %q %v", c.Datacenter, c.NodeName, err)
	}
	_, err = LoadConfig(envconf.Map(map[string]string{"REGISTRY_DATACENTER": "eu west", "REGISTRY_NODE_NAME": "a/b"}))
	for _, want := range []string{"REGISTRY_DATACENTER", "REGISTRY_NODE_NAME"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v should name %s", err, want)
		}
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	_, err := LoadConfig(envconf.Map(map[string]string{
		"REGISTRY_TTL":         "forever",
		"REDIS_SENTINEL_ADDRS": "s1:26379",
		"REDIS_URL":            "redis://r:6379",
	}))
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"REGISTRY_TTL", "REDIS_MASTER_NAME", "only one of"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q should mention %q", err, want)
		}
	}
	c, err := LoadConfig(envconf.Map(map[string]string{"REGISTRY_TTL": "1500ms", "REDIS_URL": "redis://r:6379"}))
	if err != nil || c.TTL != 1500*time.Millisecond || c.Backend() != "redis" {
		t.Fatalf("%+v %v", c, err)
	}
}

// TestRunServesAndShutsDown starts the wired registry on a free port and
// stops it the way SIGTERM does (context cancel).
func TestRunServesAndShutsDown(t *testing.T) {
	base, stop := runRegistry(t, map[string]string{"REGISTRY_ADDR": "127.0.0.1:0", "REGISTRY_TTL": "2s",
		"REGISTRY_MAX_INSTANCES_PER_SERVICE": "1"})
	resp, err := http.Post(base+"/register", "application/json", strings.NewReader(
		`{"service_name":"my_service","endpoint":"http://vertice-my-service:8080"}`))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("register: %v %v", resp, err)
	}
	resp.Body.Close()
	// The limits are wired: a second instance of the service is refused.
	resp, err = http.Post(base+"/register", "application/json", strings.NewReader(
		`{"service_name":"my_service","endpoint":"http://vertice-my-service-2:8080"}`))
	if err != nil || resp.StatusCode != http.StatusConflict {
		t.Fatalf("register beyond REGISTRY_MAX_INSTANCES_PER_SERVICE: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `registry_operations_total{operation="register",status="success"} 1`) ||
		!strings.Contains(string(body), "go_goroutines") {
		t.Fatalf("metrics: %s", body)
	}
	stop() // as SIGTERM: it fails the test unless the registry ends cleanly
}

func TestConfigTLSNeedsCertificateAndKey(t *testing.T) {
	for _, env := range []map[string]string{{"REGISTRY_TLS_CERT_FILE": "cert.pem"}, {"REGISTRY_TLS_KEY_FILE": "key.pem"}} {
		if _, err := LoadConfig(envconf.Map(env)); err == nil || !strings.Contains(err.Error(), "REGISTRY_TLS_CERT_FILE") ||
			!strings.Contains(err.Error(), "REGISTRY_TLS_KEY_FILE") {
			t.Errorf("%v: %v should name both variables", env, err)
		}
	}
	c, err := LoadConfig(envconf.Map(map[string]string{"REGISTRY_TLS_CERT_FILE": "c.pem", "REGISTRY_TLS_KEY_FILE": "k.pem"}))
	if err != nil || !c.TLS() {
		t.Fatalf("%+v %v", c, err)
	}
}

// With a certificate the API speaks https only, and shuts down gracefully
// as over http (startRegistry's cleanup checks).
func TestRunServesHTTPS(t *testing.T) {
	ca := testcert.NewCA(t, "registry test CA")
	srvCert := ca.Issue(t, "127.0.0.1", "localhost")
	dir := t.TempDir()
	base := startRegistry(t, map[string]string{"REGISTRY_ADDR": "127.0.0.1:0",
		"REGISTRY_TLS_CERT_FILE": testcert.WriteFile(t, dir, "cert.pem", srvCert.CertPEM),
		"REGISTRY_TLS_KEY_FILE":  testcert.WriteFile(t, dir, "key.pem", srvCert.KeyPEM)})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https" + strings.TrimPrefix(base, "http") + "/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET https /health: %v %v", resp, err)
	}
	resp.Body.Close()
	if resp, err := client.Get(base + "/health"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain http answered 200 on the TLS port")
		}
	}
}

func TestRunRefusesAnUnreadableCertificate(t *testing.T) {
	cfg, _ := LoadConfig(envconf.Map(map[string]string{"REGISTRY_ADDR": "127.0.0.1:0",
		"REGISTRY_TLS_CERT_FILE": "/nonexistent/cert.pem", "REGISTRY_TLS_KEY_FILE": "/nonexistent/key.pem"}))
	err := run(context.Background(), cfg, slog.New(slog.DiscardHandler), nil)
	if err == nil || !strings.Contains(err.Error(), "REGISTRY_TLS_CERT_FILE") {
		t.Fatalf("want an error naming the variables, got %v", err)
	}
}
