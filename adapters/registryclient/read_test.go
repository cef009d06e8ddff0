package registryclient_test

import (
	"context"
	"errors"
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
	"github.com/vertice/vertice/ports/portstest"
)

func TestDirectoryContractAgainstTheRegistryAPI(t *testing.T) {
	portstest.RunDirectory(t, func(t *testing.T, regs []catalog.Registration) ports.Directory {
		clock := ports.SystemClock{}
		svc := registry.New(memstore.New(clock), nil, clock, time.Minute)
		for _, r := range regs {
			if _, _, err := svc.Register(context.Background(), r); err != nil {
				t.Fatal(err)
			}
		}
		srv := httptest.NewServer(ginapi.New(ginapi.Options{Registry: svc}))
		t.Cleanup(srv.Close)
		return newClient(t, srv.URL, "")
	})
}

func TestListNamesTheRegisteredServices(t *testing.T) {
	srv, _ := newRegistry(t, "")
	c := newClient(t, srv.URL, "")
	if names, err := c.List(context.Background()); err != nil || len(names) != 0 {
		t.Fatalf("empty registry: %v %v", names, err)
	}
	_ = c.Register(context.Background(), reg)
	_ = c.Register(context.Background(), catalog.Registration{ServiceName: "nmap_service", Endpoint: "http://n:1"})
	names, err := c.List(context.Background())
	if err != nil || strings.Join(names, ",") != "nmap_service,osint_service" {
		t.Fatalf("List = %v, %v", names, err)
	}
}

func TestSeedSingleObjectWithoutInstanceID(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/services/nmap_service" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"service_name":"nmap_service","endpoint":"http://vertice-nmap:8047",
			"health_endpoint":"/health","metadata":{"version":"1.0.0","status":"healthy"},
			"registered_at":1761311216.8317535,"last_heartbeat":1761311879.422453,"ttl_remaining":40}`))
	}))
	defer srv.Close()
	snap, err := newClient(t, srv.URL+"/", "").Lookup(context.Background(), "nmap_service")
	if err != nil {
		t.Fatal(err)
	}
	list := snap.Instances
	in := list[0]
	if len(list) != 1 || in.InstanceID != "vertice-nmap:8047" || in.LastHeartbeat.Unix() != 1761311879 || in.TTL != 40*time.Second {
		t.Fatalf("Lookup = %+v", list)
	}
}

func TestReadFailuresAreUnavailable(t *testing.T) {
	cases := map[string]http.HandlerFunc{
		"5xx":      func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) },
		"401":      func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) },
		"bad JSON": func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"endpoint":`)) },
		"no endpoint": func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"service_name":"nmap_service"}`))
		},
		"connection dropped": func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) },
		"redirect": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			_, err := newClient(t, srv.URL, "").Lookup(context.Background(), "nmap_service")
			if !errors.Is(err, ports.ErrUnavailable) || errors.Is(err, ports.ErrNotFound) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
		})
	}
}

func TestRefusedConnectionIsUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	if _, err := newClient(t, url, "").Lookup(context.Background(), "nmap_service"); !errors.Is(err, ports.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

func TestSilentRegistryTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	c, _ := registryclient.New(srv.URL, registryclient.Options{Timeout: 50 * time.Millisecond})
	start := time.Now()
	if _, err := c.Lookup(context.Background(), "nmap_service"); !errors.Is(err, ports.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("a 50ms timeout took %v", took)
	}
}
