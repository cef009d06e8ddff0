package serve

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHealthcheckExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    int
	}{
		{"200 healthy", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"status":"healthy"}`)) }, 0},
		{"200 saying unhealthy", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"status":"unhealthy"}`)) }, 1},
		{"503", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }, 1},
		{"redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/", http.StatusFound) }, 1},
		{"endless body", func(w http.ResponseWriter, r *http.Request) {
			for r.Context().Err() == nil {
				if _, err := w.Write([]byte(strings.Repeat("x", 4096))); err != nil {
					return
				}
			}
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			var out strings.Builder
			start := time.Now()
			if got := healthcheck(srv.URL+"/health", &out); got != tc.want {
				t.Fatalf("exit %d, want %d (%s)", got, tc.want, out.String())
			}
			if time.Since(start) > 2*time.Second {
				t.Fatalf("took %v", time.Since(start))
			}
		})
	}
}

func TestHealthcheckOfAClosedPortSaysWhy(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	var out strings.Builder
	if got := healthcheck(srv.URL+"/health", &out); got != 1 || !strings.Contains(out.String(), "refused") {
		t.Fatalf("exit %d, stderr %q", got, out.String())
	}
}

// A server with TLS on is probed over https on loopback, whatever name its
// certificate carries.
func TestHealthcheckSpeaksHTTPSWhenTheServerDoes(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"status":"healthy"}`))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	var out strings.Builder
	if got := healthcheck(withScheme(LocalURL(addr), true)+"/health", &out); got != 0 {
		t.Fatalf("https: exit %d (%s)", got, out.String())
	}
	if got := healthcheck(withScheme(LocalURL(addr), false)+"/health", &out); got != 1 {
		t.Fatalf("plain http to a TLS server: exit %d, want 1", got)
	}
}

func TestLocalURL(t *testing.T) {
	for addr, want := range map[string]string{":8888": "http://127.0.0.1:8888", "0.0.0.0:80": "http://127.0.0.1:80",
		"[::]:9100": "http://127.0.0.1:9100", "10.0.0.5:9100": "http://10.0.0.5:9100"} {
		if got := LocalURL(addr); got != want {
			t.Errorf("LocalURL(%q) = %q, want %q", addr, got, want)
		}
	}
}
