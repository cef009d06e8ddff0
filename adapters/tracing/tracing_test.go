package tracing_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/vertice/vertice/adapters/proxy"
	"github.com/vertice/vertice/adapters/tracing"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/routing"
	"github.com/vertice/vertice/internal/envconf"
	"github.com/vertice/vertice/ports"
	"github.com/vertice/vertice/ports/portstest"
)

func TestEnabled(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
		err  string
	}{
		{env: nil},
		{env: map[string]string{"OTEL_SERVICE_NAME": "x"}},
		{env: map[string]string{tracing.EndpointVar: "http://otel-collector:4318"}, want: true},
		{env: map[string]string{tracing.TracesEndpointVar: "https://otel:4318/v1/traces"}, want: true},
		{env: map[string]string{tracing.EndpointVar: "http://otel:4318", tracing.DisabledVar: "TRUE"}},
		{env: map[string]string{tracing.EndpointVar: "http://otel:4318", tracing.ExporterVar: "none"}},
		{env: map[string]string{tracing.EndpointVar: "otel:4318"}, want: true, err: tracing.EndpointVar},
		{env: map[string]string{tracing.TracesEndpointVar: "grpc://otel:4317"}, want: true, err: tracing.TracesEndpointVar},
	} {
		got, err := tracing.Enabled(envconf.Map(tc.env))
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.HasPrefix(err.Error(), tc.err+": ")) {
			t.Errorf("Enabled(%v) = %v, %v; want %v and an error naming %q", tc.env, got, err, tc.want, tc.err)
		}
	}
}

// inMemory is a provider whose spans are exported synchronously.
func inMemory(t *testing.T) (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, exp
}

func attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	out := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		out[kv.Key] = kv.Value
	}
	return out
}

const clientParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestServerSpanContinuesTheCallersTrace(t *testing.T) {
	tp, exp := inMemory(t)
	srv := tracing.NewServer(tp)
	r := httptest.NewRequest(http.MethodGet, "/services/nmap_service", nil)
	r.Header.Set("Traceparent", clientParent)
	ctx, end := srv.Start(r, "GET /services/:name")
	if got := trace.SpanContextFromContext(ctx).TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("context carries trace %s, want the caller's", got)
	}
	end(http.StatusServiceUnavailable)
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	s := spans[0]
	if s.Name != "GET /services/:name" || s.SpanKind != trace.SpanKindServer || s.Parent.SpanID().String() != "00f067aa0ba902b7" ||
		attrs(s)["http.response.status_code"].AsInt64() != 503 || s.Status.Code != codes.Error {
		t.Fatalf("span %+v", s)
	}
}

// The gateway's span through the real proxy: the upstream sees the same
// trace and the gateway's span as parent.
func TestGatewaySpanThroughTheProxy(t *testing.T) {
	tp, exp := inMemory(t)
	seen := make(chan string, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Get("Traceparent")
		io.WriteString(w, "ok")
	}))
	t.Cleanup(up.Close)
	dir := directory{catalog.Instance{Registration: catalog.Registration{ServiceName: "nmap_service", InstanceID: "a",
		Endpoint: up.URL, Metadata: map[string]string{catalog.VersionKey: "1.1.0"}}}}
	router, err := routing.New(dir, portstest.NewFakeClock(time.Unix(0, 0)), nil, routing.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := proxy.New(proxy.Options{Router: router, Tracer: tracing.NewGateway(tp)})
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(p)
	t.Cleanup(gw.Close)
	req, _ := http.NewRequest(http.MethodGet, gw.URL+"/v2/nmap_service/x", nil)
	req.Header.Set("Traceparent", clientParent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	upstream := <-seen
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	s := spans[0]
	want := "00-4bf92f3577b34da6a3ce929d0e0e4736-" + s.SpanContext.SpanID().String() + "-01"
	if upstream != want || s.SpanContext.SpanID().String() == "00f067aa0ba902b7" {
		t.Fatalf("upstream saw traceparent %q, want %q (the client's trace, the gateway's span)", upstream, want)
	}
	a := attrs(s)
	if s.Name != "GET /v2/nmap_service" || s.Parent.SpanID().String() != "00f067aa0ba902b7" ||
		a[tracing.ServiceKey].AsString() != "nmap_service" || a[tracing.InstanceKey].AsString() != "a" ||
		a[tracing.VersionKey].AsString() != "1.1.0" || a[tracing.RetriesKey].AsInt64() != 0 ||
		a[tracing.UpstreamKey].AsFloat64() <= 0 || a["http.response.status_code"].AsInt64() != 200 {
		t.Fatalf("span %s with %v", s.Name, a)
	}
}

type directory []catalog.Instance

func (d directory) Lookup(_ context.Context, service string) (catalog.Service, error) {
	if service != "nmap_service" {
		return catalog.Service{Name: service, Index: 1}, ports.ErrNotFound
	}
	return catalog.Service{Name: service, Index: 1, Instances: d}, nil
}

// Start exports over OTLP/HTTP to the endpoint the environment names; a
// receiver started here sees the batch when the provider shuts down.
func TestStartExportsToTheOTLPEndpoint(t *testing.T) {
	posts := make(chan string, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		posts <- r.Method + " " + r.URL.Path + " " + r.Header.Get("Content-Type") + " " + string(body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(receiver.Close)
	t.Setenv(tracing.EndpointVar, receiver.URL)
	t.Setenv("OTEL_SERVICE_NAME", "")
	p, err := tracing.Start(context.Background(), "vertice-test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	_, end := tracing.NewServer(p.TracerProvider()).Start(httptest.NewRequest(http.MethodGet, "/health", nil), "GET /health")
	end(200)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-posts:
		if !strings.HasPrefix(got, "POST /v1/traces application/x-protobuf") || !strings.Contains(got, "GET /health") ||
			!strings.Contains(got, "vertice-test") {
			t.Fatalf("receiver got %q, want a protobuf batch with the span and the service name", got)
		}
	default:
		t.Fatal("the receiver got nothing")
	}
}
