package healthprobe_test

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/healthprobe"
)

func TestOnly200IsHealthy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		healthy bool
	}{
		{"200", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"status":"healthy"}`)) }, true},
		{"204", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }, false},
		{"503", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }, false},
		{"redirect to a 200", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/health" {
				http.Redirect(w, r, "/elsewhere", http.StatusFound)
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			err := mustNew(t, srv.URL+"/health", time.Second).Check(context.Background())
			if (err == nil) != tc.healthy {
				t.Fatalf("Check = %v, want healthy=%v", err, tc.healthy)
			}
		})
	}
}

func TestHungServiceTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	err := mustNew(t, srv.URL, 50*time.Millisecond).Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("want a deadline error from a hung service, got %v", err)
	}
}

func TestUnreachableServiceIsUnhealthy(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	if err := mustNew(t, url, time.Second).Check(context.Background()); err == nil {
		t.Fatal("a closed port must be unhealthy")
	}
}

func TestOnlyAbsoluteHTTPURLs(t *testing.T) {
	for _, u := range []string{"ftp://svc:21/health", "svc:8080/health", "/health", "http:///health", "http://u:p@svc/health"} {
		if _, err := healthprobe.New(u, healthprobe.Options{}); err == nil {
			t.Errorf("New(%q) accepted a URL the probe cannot dial", u)
		}
	}
}

// SERVICE_SCHEME=https: the certificate is checked, unless the operator
// opted out for a self-signed one.
func TestHTTPSServiceWithASelfSignedCertificate(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	// A generous timeout: a TLS handshake under -race on a busy machine can
	// take over a second, and the timeout is not what this test is about.
	p := mustNew(t, srv.URL+"/health", 20*time.Second)
	if err := p.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("an untrusted certificate must fail the probe naming it, got %v", err)
	}
	p, err := healthprobe.New(srv.URL+"/health", healthprobe.Options{Timeout: 20 * time.Second, InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Check(context.Background()); err != nil {
		t.Fatalf("with the opt-out the service is healthy: %v", err)
	}
}

// Probes reuse one connection to the service.
func TestProbesKeepTheConnectionAlive(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"status":"healthy"}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	p := mustNew(t, srv.URL+"/health", time.Second)
	for range 3 {
		if err := p.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("3 probes opened %d connections", n)
	}
}

func mustNew(t *testing.T, url string, timeout time.Duration) *healthprobe.Probe {
	t.Helper()
	p, err := healthprobe.New(url, healthprobe.Options{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
