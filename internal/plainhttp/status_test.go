package plainhttp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vertice/vertice/internal/plainhttp"
)

func TestHealthcheckExitCodes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			_, _ = io.WriteString(w, `{"status":"healthy"}`)
		case "/sick":
			_, _ = io.WriteString(w, `{"status":"unhealthy"}`)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for url, want := range map[string]int{
		srv.URL + "/ok": 0, srv.URL + "/sick": 1, srv.URL + "/down": 1, closed.URL + "/ok": 1, "https://x/health": 1,
	} {
		var errOut strings.Builder
		if got := plainhttp.Healthcheck(url, &errOut); got != want {
			t.Errorf("Healthcheck(%s) = %d, want %d (%s)", url, got, want, errOut.String())
		}
		if want == 1 && !strings.Contains(errOut.String(), "healthcheck:") {
			t.Errorf("Healthcheck(%s) failed without saying why", url)
		}
	}
}
