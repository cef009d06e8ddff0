package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/vertice/vertice/adapters/tracing"
	"github.com/vertice/vertice/internal/envconf"
	"github.com/vertice/vertice/ports/portstest"
)

// traceparents is an upstream that keeps the traceparent of every request.
type traceparents struct {
	mu   sync.Mutex
	seen []string
	srv  *httptest.Server
}

func newTraceparents(t *testing.T) *traceparents {
	tp := &traceparents{}
	tp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tp.mu.Lock()
		tp.seen = append(tp.seen, r.Header.Get("Traceparent"))
		tp.mu.Unlock()
	}))
	t.Cleanup(tp.srv.Close)
	return tp
}

// tracedGateway is the wired gateway recording spans in memory.
func tracedGateway(t *testing.T, registryURL string) (string, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	env := map[string]string{"REGISTRY_URL": registryURL}
	cfg, err := LoadConfig(envconf.Map(env), environOf(env))
	if err != nil {
		t.Fatal(err)
	}
	app, err := wireTraced(cfg, portstest.NewFakeClock(time.Unix(1_761_311_216, 0)), slog.New(slog.DiscardHandler), tp)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.handler)
	t.Cleanup(srv.Close)
	return srv.URL, exp
}

func sendWith(t *testing.T, url, traceparent string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if traceparent != "" {
		req.Header.Set("Traceparent", traceparent)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func spanAttrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	out := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		out[kv.Key] = kv.Value
	}
	return out
}

const (
	clientTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	clientSpan   = "00f067aa0ba902b7"
	clientParent = "00-" + clientTrace + "-" + clientSpan + "-01"
)

func TestTracingContinuesTheTraceAndRecordsASpanPerRequest(t *testing.T) {
	reg := newRegistry(t)
	up := newTraceparents(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	reg.register(t, "nmap_service", "a", dead.URL, "") // round robin starts here: the first request is retried
	reg.register(t, "nmap_service", "b", up.srv.URL, "")
	gw, exp := tracedGateway(t, reg.srv.URL)

	if code := sendWith(t, gw+"/v2/nmap_service/x", clientParent); code != 200 {
		t.Fatalf("status %d", code)
	}
	if code := sendWith(t, gw+"/v2/nmap_service/x", ""); code != 200 { // no trace: the gateway starts one
		t.Fatalf("status %d", code)
	}
	if code := sendWith(t, gw+"/v2/ghost_service/x", clientParent); code != 404 {
		t.Fatalf("status %d", code)
	}
	spans := exp.GetSpans()
	if len(spans) != 3 {
		t.Fatalf("%d spans for 3 requests, want 3", len(spans))
	}
	up.mu.Lock()
	seen := append([]string(nil), up.seen...)
	up.mu.Unlock()
	if len(seen) != 2 {
		t.Fatalf("upstream saw %d requests, want 2", len(seen))
	}

	// 1: the client's trace, continued; the upstream sees the same trace
	// ID and a new span ID, the gateway's span's.
	first := spans[0]
	if want := "00-" + clientTrace + "-" + first.SpanContext.SpanID().String() + "-01"; seen[0] != want ||
		first.SpanContext.SpanID().String() == clientSpan || first.Parent.SpanID().String() != clientSpan {
		t.Fatalf("upstream saw %q (gateway span %s, parent %s), want %q", seen[0], first.SpanContext.SpanID(),
			first.Parent.SpanID(), want)
	}
	a := spanAttrs(first)
	if first.Name != "GET /v2/nmap_service" || first.SpanKind != trace.SpanKindServer ||
		a[tracing.ServiceKey].AsString() != "nmap_service" || a[tracing.InstanceKey].AsString() != "b" ||
		a["http.response.status_code"].AsInt64() != 200 || a[tracing.RetriesKey].AsInt64() != 1 ||
		a[tracing.UpstreamKey].AsFloat64() <= 0 {
		t.Fatalf("first span %s %v", first.Name, a)
	}

	// 2: a new trace, started by the gateway and handed on.
	second := spans[1]
	if second.Parent.IsValid() || second.SpanContext.TraceID().String() == clientTrace ||
		!strings.HasPrefix(seen[1], "00-"+second.SpanContext.TraceID().String()+"-"+second.SpanContext.SpanID().String()) {
		t.Fatalf("second span %s (parent %v), upstream saw %q", second.SpanContext.TraceID(), second.Parent, seen[1])
	}

	// 3: an unknown service is a span too, with its status.
	third := spans[2]
	if third.Name != "GET /v2/{service}" || spanAttrs(third)["http.response.status_code"].AsInt64() != 404 ||
		third.SpanContext.TraceID().String() != clientTrace {
		t.Fatalf("third span %s %v", third.Name, spanAttrs(third))
	}
}

// Without OTEL_EXPORTER_OTLP_ENDPOINT nothing traces: the client's
// traceparent passes through untouched like any header.
func TestNoTracingWithoutAnEndpoint(t *testing.T) {
	reg := newRegistry(t)
	up := newTraceparents(t)
	reg.register(t, "nmap_service", "b", up.srv.URL, "")
	gw := newGateway(t, reg.srv.URL, nil)
	if code := sendWith(t, gw.url+"/v2/nmap_service/x", clientParent); code != 200 {
		t.Fatalf("status %d", code)
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	if len(up.seen) != 1 || up.seen[0] != clientParent {
		t.Fatalf("upstream saw %q, want the client's traceparent unchanged", up.seen)
	}
}
