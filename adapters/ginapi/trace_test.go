package ginapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/ginapi"
	"github.com/vertice/vertice/adapters/memstore"
	"github.com/vertice/vertice/domain/registry"
	"github.com/vertice/vertice/ports/portstest"
)

type ctxKey struct{}

// spanLog records "name status" per span.
type spanLog struct {
	mu    sync.Mutex
	spans []string
}

func (l *spanLog) Start(r *http.Request, name string) (context.Context, func(int)) {
	return context.WithValue(r.Context(), ctxKey{}, name), func(status int) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.spans = append(l.spans, name+" "+http.StatusText(status))
	}
}

func TestTracerSpansEveryRequestByRoute(t *testing.T) {
	clock := portstest.NewFakeClock(time.Unix(1761310133, 0))
	store := memstore.New(clock)
	log := &spanLog{}
	h := ginapi.New(ginapi.Options{Registry: registry.New(store, store, clock, time.Minute), Tracer: log})
	for _, req := range []*http.Request{
		httptest.NewRequest(http.MethodPost, "/register", strings.NewReader(`{"service_name":"nmap_service","endpoint":"http://nmap:8047"}`)),
		httptest.NewRequest(http.MethodGet, "/services/nmap_service", nil),
		httptest.NewRequest(http.MethodGet, "/services/ghost_service", nil),
		httptest.NewRequest(http.MethodGet, "/nowhere", nil),
	} {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	want := "POST /register Created,GET /services/:name OK,GET /services/:name Not Found,GET (unmatched) Not Found"
	if got := strings.Join(log.spans, ","); got != want {
		t.Fatalf("spans %s\nwant  %s", got, want)
	}
}
