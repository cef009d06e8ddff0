package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/testkit/freeport"
	"github.com/vertice/vertice/internal/testkit/testcert"
)

// testTLS runs the real registry with TLS on (a CA and a certificate for
// 127.0.0.1 made here) and the real sidecar against it over https: it
// registers, heartbeats and deregisters on SIGTERM; trusting the wrong CA it
// says so in its log and keeps retrying with a growing delay.
func testTLS(t *testing.T, bin string) {
	dir := t.TempDir()
	ca := testcert.NewCA(t, "vertice test CA")
	cert := ca.Issue(t, "127.0.0.1", "localhost")
	caFile := testcert.WriteFile(t, dir, "ca.pem", ca.PEM)
	regAddr, demoAddr := freeport.MustAddr(t), freeport.MustAddr(t)
	regEnv := []string{"REGISTRY_ADDR=" + regAddr, "REGISTRY_TTL=" + processTTL.String(),
		"REGISTRY_TLS_CERT_FILE=" + testcert.WriteFile(t, dir, "cert.pem", cert.CertPEM),
		"REGISTRY_TLS_KEY_FILE=" + testcert.WriteFile(t, dir, "key.pem", cert.KeyPEM)}
	startProc(t, filepath.Join(bin, "vertice-registry"), regEnv...)
	startProc(t, filepath.Join(bin, "vertice-demo"), "DEMO_ADDR="+demoAddr, "DEMO_NAME=demo-1")
	registry := "https://" + regAddr
	client := httpsClient(ca.PEM)
	lookup := func() int { return statusOf(client, registry+"/services/demo_service") }
	eventually(t, 10*time.Second, "registry up over https", func() bool { return statusOf(client, registry+"/health") == 200 })
	eventually(t, 10*time.Second, "demo up", func() bool { return httpStatus("http://"+demoAddr+"/health") == 200 })

	hc := exec.Command(filepath.Join(bin, "vertice-registry"), "-healthcheck")
	hc.Env = regEnv
	if out, err := hc.CombinedOutput(); err != nil {
		t.Fatalf("vertice-registry -healthcheck with TLS on: %v\n%s", err, out)
	}

	host, port, _ := net.SplitHostPort(demoAddr)
	env := func(ca string) []string {
		return []string{"SERVICE_NAME=demo_service", "SERVICE_HOST=" + host, "SERVICE_PORT=" + port,
			"REGISTRY_URL=" + registry, "REGISTRY_CA_FILE=" + ca, "HEARTBEAT_INTERVAL=300ms",
			"SIDECAR_ADDR=" + freeport.MustAddr(t)}
	}

	t.Run("TrustedCA", func(t *testing.T) {
		sc := startProc(t, filepath.Join(bin, "vertice-sidecar"), env(caFile)...)
		eventually(t, 5*time.Second, "registered over https", func() bool { return lookup() == 200 })
		eventually(t, 5*time.Second, "three heartbeats over https", func() bool {
			return len(logRecords(sc.out.String(), "Heartbeat sent")) >= 3
		})
		if err := sc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := sc.wait(t, 5*time.Second); code != 0 {
			t.Fatalf("exit code %d after SIGTERM, want 0\n%s", code, sc.out.String())
		}
		if got := lookup(); got != 404 {
			t.Fatalf("lookup right after exit answered %d, want 404 (deregistered)", got)
		}
		if len(logRecords(sc.out.String(), "Service unregistered")) != 1 {
			t.Fatalf("no 'Service unregistered' record in:\n%s", sc.out.String())
		}
	})

	t.Run("WrongCA", func(t *testing.T) {
		other := testcert.WriteFile(t, t.TempDir(), "other-ca.pem", testcert.NewCA(t, "some other CA").PEM)
		sc := startProc(t, filepath.Join(bin, "vertice-sidecar"), env(other)...)
		// Delays of about 1, 2 and 4 s: three retries within 15 s.
		eventually(t, 15*time.Second, "three retried registrations", func() bool {
			return len(logRecords(sc.out.String(), "Retrying registration")) >= 3
		})
		retries := logRecords(sc.out.String(), "Retrying registration")
		for i, r := range retries[:3] {
			msg, _ := r["error"].(string)
			if !strings.Contains(msg, "certificate") || !strings.Contains(msg, "unknown authority") {
				t.Fatalf("retry %d does not say the certificate is not trusted: %q", i+1, msg)
			}
			if i > 0 && r["delay_seconds"].(float64) <= retries[i-1]["delay_seconds"].(float64) {
				t.Fatalf("delays do not grow: %v then %v", retries[i-1]["delay_seconds"], r["delay_seconds"])
			}
		}
		if got := lookup(); got != 404 {
			t.Fatalf("an untrusted registry got the instance: lookup %d", got)
		}
		if err := sc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := sc.wait(t, 10*time.Second); code != 0 {
			t.Fatalf("exit code %d after SIGTERM, want 0\n%s", code, sc.out.String())
		}
	})
}

func httpsClient(caPEM []byte) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func statusOf(c *http.Client, url string) int {
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// logRecords returns the JSON log records whose msg is msg.
func logRecords(out, msg string) []map[string]any {
	var recs []map[string]any
	for _, line := range strings.Split(out, "\n") {
		var r map[string]any
		if json.Unmarshal([]byte(line), &r) == nil && r["msg"] == msg {
			recs = append(recs, r)
		}
	}
	return recs
}
