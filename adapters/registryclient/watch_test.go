package registryclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/ginapi"
	"github.com/vertice/vertice/adapters/memstore"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/registry"
	"github.com/vertice/vertice/ports"
)

// TestChangesFollowsTheFeed: the first answer lists every service
// (complete); a later one waits for a change and names it, past the
// client's own timeout, which bounds every other call.
func TestChangesFollowsTheFeed(t *testing.T) {
	clock := ports.SystemClock{}
	store := memstore.New(clock)
	svc := registry.New(store, store, clock, time.Minute)
	srv := httptest.NewServer(ginapi.New(ginapi.Options{Registry: svc}))
	defer srv.Close()
	c := newClient(t, srv.URL, "") // a 2 s timeout
	ctx := context.Background()
	_ = c.Register(ctx, reg)
	first, err := c.Changes(ctx, 0, time.Minute)
	if err != nil || !first.Complete || len(first.Services) != 1 || first.Services[0].Name != "osint_service" || first.Index == 0 {
		t.Fatalf("first answer: %+v %v", first, err)
	}
	got := make(chan catalog.Changes, 1)
	go func() {
		ch, err := c.Changes(ctx, first.Index, time.Minute)
		if err != nil {
			t.Error(err)
		}
		got <- ch
	}()
	// Longer than the client's timeout: the blocking read must outlast it.
	select {
	case ch := <-got:
		t.Fatalf("answered before any change: %+v", ch)
	case <-time.After(2500 * time.Millisecond):
	}
	_ = c.Register(ctx, catalog.Registration{ServiceName: "nmap_service", Endpoint: "http://n:1"})
	select {
	case ch := <-got:
		if ch.Complete || len(ch.Services) != 1 || ch.Services[0].Name != "nmap_service" || ch.Index <= first.Index {
			t.Fatalf("after a registration: %+v", ch)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the feed did not answer a registration")
	}
}

// TestUnusableAnswerIsTheServicesProblem: a 200 the client cannot use is
// ErrBadAnswer (a router keeps the registry's breaker closed for it); a
// failing registry is not.
func TestUnusableAnswerIsTheServicesProblem(t *testing.T) {
	for name, c := range map[string]struct {
		h   http.HandlerFunc
		bad bool
	}{
		"bad JSON":    {func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"endpoint":`)) }, true},
		"no endpoint": {func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"service_name":"s"}`)) }, true},
		"5xx":         {func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }, false},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(c.h)
			defer srv.Close()
			_, err := newClient(t, srv.URL, "").Lookup(context.Background(), "s")
			if errors.Is(err, ports.ErrBadAnswer) != c.bad || !errors.Is(err, ports.ErrUnavailable) {
				t.Fatalf("err = %v: want ErrBadAnswer %v (and ErrUnavailable)", err, c.bad)
			}
		})
	}
}
