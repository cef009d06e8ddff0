package main

import (
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/vertice/vertice/adapters/tracing"
	"github.com/vertice/vertice/internal/envconf"
)

// otlpReceiver is a real OTLP/HTTP receiver: it decodes every batch and
// keeps "name trace-id parent-span-id" per span.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []string
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
		http.Error(w, "bad batch", http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				o.spans = append(o.spans, s.Name+" "+hex.EncodeToString(s.TraceId)+" "+hex.EncodeToString(s.ParentSpanId))
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
}

// With OTEL_EXPORTER_OTLP_ENDPOINT set, the registry records a span per
// API request, continuing the caller's trace, and flushes them at
// shutdown.
func TestRunExportsASpanPerRequestOverOTLP(t *testing.T) {
	rec := &otlpReceiver{}
	receiver := httptest.NewServer(rec)
	t.Cleanup(receiver.Close)
	t.Setenv(tracing.EndpointVar, receiver.URL) // the SDK reads the process's environment
	cfg, err := LoadConfig(envconf.Map(map[string]string{"REGISTRY_ADDR": "127.0.0.1:0", tracing.EndpointVar: receiver.URL}))
	if err != nil || !cfg.Tracing {
		t.Fatalf("tracing %v, err %v", cfg.Tracing, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.DiscardHandler), ready) }()
	var base string
	select {
	case addr := <-ready:
		base = "http://" + addr.String()
	case err := <-done:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("registry did not start")
	}
	// One request to each API: the native one and Consul's.
	for _, path := range []string{"/services/nmap_service", "/v1/catalog/services"} {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no graceful shutdown")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	want := []string{
		"GET /services/:name 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7",
		"GET /v1/catalog/services 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7",
	}
	if !slices.Equal(rec.spans, want) {
		t.Fatalf("receiver got spans %q, want %q", rec.spans, want)
	}
}

func TestTracingOffWithoutAnEndpoint(t *testing.T) {
	cfg, err := LoadConfig(envconf.Map(map[string]string{"OTEL_SERVICE_NAME": "x"}))
	if err != nil || cfg.Tracing {
		t.Fatalf("tracing %v, err %v; want off", cfg.Tracing, err)
	}
	if _, err := LoadConfig(envconf.Map(map[string]string{tracing.EndpointVar: "collector:4318"})); err == nil {
		t.Fatal("a bad OTLP endpoint was accepted")
	}
}
