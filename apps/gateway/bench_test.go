package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vertice/vertice/domain/routing"
	"github.com/vertice/vertice/internal/envconf"
	"github.com/vertice/vertice/ports"
)

// BenchmarkGateway is one small GET through the wired gateway (metrics,
// routing cache hit, breaker, proxy) over loopback, client and upstream in
// the same process. Every goroutine carries a pprof label side=client,
// gateway or upstream, so a CPU profile can be cut to the gateway alone:
//
//	go test -run '^$' -bench Gateway -cpuprofile cpu.prof ./apps/gateway/
//	go tool pprof -tagfocus side=gateway -top cpu.prof
func BenchmarkGateway(b *testing.B) {
	up := labelled("upstream", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("hello, world\n"))
	}))
	defer up.Close()
	reg := labelled("registry", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/services/bench_service" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"service_name":"bench_service","instance_id":"i0","endpoint":"`+upURL+`","metadata":{}}`)
	}))
	defer reg.Close()
	upURL = up.URL

	cfg, err := LoadConfig(envconf.Map(map[string]string{"REGISTRY_URL": reg.URL}), nil)
	if err != nil {
		b.Fatal(err)
	}
	app, err := wire(cfg, ports.SystemClock{}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	gw := labelled("gateway", app.handler)
	defer gw.Close()

	url := gw.URL + "/v2/bench_service/items?id=7"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	get := func() {
		resp, err := client.Get(url)
		if err != nil {
			b.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Errorf("status %d", resp.StatusCode)
		}
	}
	get() // the registry lookup and first connections, outside the measurement
	b.ReportAllocs()
	b.ResetTimer()
	pprof.Do(context.Background(), pprof.Labels("side", "client"), func(context.Context) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				get()
			}
		})
	})
}

var upURL string

// labelled starts a test server whose goroutines (and those they start,
// such as its transports' connection loops) carry the pprof label side.
func labelled(side string, h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	pprof.Do(context.Background(), pprof.Labels("side", side), func(context.Context) { srv.Start() })
	return srv
}

// BenchmarkObserve is the metrics work of one proxied request.
func BenchmarkObserve(b *testing.B) {
	s, err := newStats(prometheus.NewRegistry(), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s.Resolved(routing.FromCache, nil)
		s.Served("bench_service", http.StatusOK, 1500*time.Microsecond)
	}
}
