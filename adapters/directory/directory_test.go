package directory_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/directory"
	"github.com/vertice/vertice/adapters/ginapi"
	"github.com/vertice/vertice/adapters/memstore"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/registry"
	"github.com/vertice/vertice/ports"
	"github.com/vertice/vertice/ports/portstest"
)

func TestContractAgainstTheRegistryAPI(t *testing.T) {
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
		d, err := directory.New(srv.URL, srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
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
	d, _ := directory.New(srv.URL+"/", nil)
	list, err := d.Lookup(context.Background(), "nmap_service")
	if err != nil {
		t.Fatal(err)
	}
	in := list[0]
	if len(list) != 1 || in.InstanceID != "vertice-nmap:8047" || in.LastHeartbeat.Unix() != 1761311879 || in.TTL != 40*time.Second {
		t.Fatalf("Lookup = %+v", list)
	}
}

func TestFailuresAreUnavailable(t *testing.T) {
	cases := map[string]http.HandlerFunc{
		"5xx":      func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) },
		"bad JSON": func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"endpoint":`)) },
		"no endpoint": func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"service_name":"nmap_service"}`))
		},
		"connection dropped": func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) },
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			d, _ := directory.New(srv.URL, nil)
			_, err := d.Lookup(context.Background(), "nmap_service")
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
	d, _ := directory.New(url, nil)
	if _, err := d.Lookup(context.Background(), "nmap_service"); !errors.Is(err, ports.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

func TestSilentRegistryTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	d, _ := directory.New(srv.URL, &http.Client{Timeout: 50 * time.Millisecond})
	if _, err := d.Lookup(context.Background(), "nmap_service"); !errors.Is(err, ports.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

func TestNewRejectsRelativeURL(t *testing.T) {
	if _, err := directory.New("vertice-register-lb:80", nil); err == nil {
		t.Fatal("want an error for a URL without scheme")
	}
}
