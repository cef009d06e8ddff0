package ginapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/vertice/vertice/adapters/ginapi"
)

// The UI handler gets every GET and HEAD under /ui/; /ui redirects there;
// writes under /ui/ are refused; without a UI, /ui/ is an unknown route.
func TestUIIsMountedUnderUI(t *testing.T) {
	var got []string
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = append(got, r.Method+" "+r.URL.Path) })
	h := ginapi.New(ginapi.Options{UI: ui})
	for _, c := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/ui/", 200}, {"HEAD", "/ui/services/nmap_service", 200}, {"GET", "/ui", 301},
		{"POST", "/ui/", 405}, {"GET", "/uix", 404},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.code {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, rec.Code, c.code)
		}
	}
	if len(got) != 2 || got[0] != "GET /ui/" || got[1] != "HEAD /ui/services/nmap_service" {
		t.Fatalf("the UI saw %v", got)
	}
	rec := httptest.NewRecorder()
	ginapi.New(ginapi.Options{}).ServeHTTP(rec, httptest.NewRequest("GET", "/ui/", nil))
	if rec.Code != 404 {
		t.Fatalf("without a UI: %d", rec.Code)
	}
}
