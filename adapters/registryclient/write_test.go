package registryclient_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/ginapi"
	"github.com/vertice/vertice/adapters/memstore"
	"github.com/vertice/vertice/adapters/registryclient"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/registry"
	"github.com/vertice/vertice/ports"
)

// newRegistry serves the real registry API over a memory store.
func newRegistry(t *testing.T, token string) (*httptest.Server, *registry.Service) {
	t.Helper()
	clock := ports.SystemClock{}
	svc := registry.New(memstore.New(clock), nil, clock, time.Minute)
	srv := httptest.NewServer(ginapi.New(ginapi.Options{Registry: svc, Token: token}))
	t.Cleanup(srv.Close)
	return srv, svc
}

func newClient(t *testing.T, url, token string) *registryclient.Client {
	t.Helper()
	c, err := registryclient.New(url, registryclient.Options{Token: token, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var reg = catalog.Registration{
	ServiceName: "osint_service", InstanceID: "osint-1", Endpoint: "http://vertice-osint:8049",
	HealthEndpoint: "/health", Metadata: map[string]string{"version": "1.0.0", "status": "healthy"},
}

func TestRegisterHeartbeatDeregisterAgainstTheRealAPI(t *testing.T) {
	srv, svc := newRegistry(t, "s3cret")
	c := newClient(t, srv.URL, "s3cret")
	ctx := context.Background()
	if err := c.Register(ctx, reg); err != nil {
		t.Fatalf("Register: %v", err)
	}
	snap, err := svc.Lookup(ctx, "osint_service", registry.Block{})
	if err != nil || snap.Instances[0].InstanceID != "osint-1" || snap.Instances[0].Metadata["version"] != "1.0.0" {
		t.Fatalf("registry holds %+v, %v", snap.Instances, err)
	}
	if err := c.Heartbeat(ctx, "osint_service", "osint-1"); err != nil {
		t.Fatalf("Heartbeat: %v", err)
	}
	if err := c.Deregister(ctx, "osint_service", "osint-1"); err != nil {
		t.Fatalf("Deregister: %v", err)
	}
	if _, err := svc.Lookup(ctx, "osint_service", registry.Block{}); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("instance still listed after Deregister: %v", err)
	}
}

func TestUnknownInstanceIsErrNotFound(t *testing.T) {
	srv, _ := newRegistry(t, "")
	err := newClient(t, srv.URL, "").Heartbeat(context.Background(), "osint_service", "ghost")
	if !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
}

func TestWrongTokenIsRejectedWithTheRegistrysDetail(t *testing.T) {
	srv, _ := newRegistry(t, "s3cret")
	err := newClient(t, srv.URL, "wrong").Register(context.Background(), reg)
	if !errors.Is(err, ports.ErrRejected) || !strings.Contains(err.Error(), "401") ||
		!strings.Contains(err.Error(), "bearer token") {
		t.Fatalf("want ErrRejected naming 401 and the detail, got %v", err)
	}
}

func TestOutagesAreErrUnavailable(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"detail":"store unavailable"}`))
	}))
	defer down.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer hung.Close()
	defer close(release) // before Close, which waits for handlers

	for name, url := range map[string]string{"503": down.URL, "refused": closed.URL, "hung": hung.URL} {
		t.Run(name, func(t *testing.T) {
			c, _ := registryclient.New(url, registryclient.Options{Timeout: 100 * time.Millisecond})
			err := c.Heartbeat(context.Background(), "osint_service", "osint-1")
			var e *registryclient.Error
			if !errors.Is(err, ports.ErrUnavailable) || !errors.As(err, &e) {
				t.Fatalf("want ErrUnavailable as *registryclient.Error, got %v", err)
			}
			if errors.Is(err, ports.ErrNotFound) {
				t.Fatal("an outage must never look like a forgotten instance")
			}
		})
	}
}

func TestBearerTokenOnlyWhenSet(t *testing.T) {
	got := make(chan string, 3)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Authorization")
	}))
	defer srv.Close()
	_ = newClient(t, srv.URL, "").Heartbeat(context.Background(), "a", "b")
	_ = newClient(t, srv.URL+"/", "tok").Heartbeat(context.Background(), "a", "b")
	_, _ = newClient(t, srv.URL, "tok").Lookup(context.Background(), "a")
	if a, b, c := <-got, <-got, <-got; a != "" || b != "Bearer tok" || c != "Bearer tok" {
		t.Fatalf("Authorization headers %q, %q and %q", a, b, c)
	}
}

func TestNewRefusesABadURL(t *testing.T) {
	for _, u := range []string{"", "vertice-register-lb:80", "ftp://x", "http://user:pw@registry:80",
		"http://registry:80/?x=1", "/services"} {
		if _, err := registryclient.New(u, registryclient.Options{}); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
	if _, err := registryclient.New("https://registry.example:8443/prefix/", registryclient.Options{}); err != nil {
		t.Errorf("an https URL with a path prefix is a registry URL: %v", err)
	}
}

// An answer cut short still decides by its status: a 404 whose body never
// fully arrives is the registry forgetting the instance (re-register), not
// an outage.
func TestTruncatedAnswerIsClassifiedByItsStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		// Fewer bytes than declared: net/http sends them and closes.
		w.Header().Set("Content-Length", "50")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"detail":"instance not`)
	}))
	defer srv.Close()
	c, _ := registryclient.New(srv.URL, registryclient.Options{Timeout: 2 * time.Second})
	err := c.Heartbeat(context.Background(), "svc", "i-1")
	if !errors.Is(err, ports.ErrNotFound) || !strings.Contains(err.Error(), "404") {
		t.Fatalf("want ErrNotFound naming the 404, got %v", err)
	}
}
