package healthprobe_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
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

func TestOnlyPlainHTTPURLs(t *testing.T) {
	for _, u := range []string{"https://svc:8443/health", "svc:8080/health", "/health", "http:///health"} {
		if _, err := healthprobe.New(u, time.Second); err == nil {
			t.Errorf("New(%q) accepted a URL the probe cannot dial", u)
		}
	}
}

func mustNew(t *testing.T, url string, timeout time.Duration) *healthprobe.Probe {
	t.Helper()
	p, err := healthprobe.New(url, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
