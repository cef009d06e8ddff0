// Package tracing is the programs' distributed tracing with OpenTelemetry:
// a tracer provider set up from the standard OTEL_* variables that exports
// over OTLP/HTTP, server spans that continue the caller's W3C trace
// context, and the gateway's span per proxied request. When the
// environment names no OTLP endpoint the programs build none of it: no
// provider, no exporter, and the proxy and API carry no tracing hook.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The variables that decide whether traces are exported; every other
// OTEL_* variable (headers, timeout, compression, sampler, batching,
// resource attributes, service name) is read by the SDK itself.
const (
	EndpointVar       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	TracesEndpointVar = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	DisabledVar       = "OTEL_SDK_DISABLED"
	ExporterVar       = "OTEL_TRACES_EXPORTER"
)

// Enabled reads the environment: traces are exported when an OTLP
// endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT, or the traces-only
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) and neither OTEL_SDK_DISABLED=true
// nor OTEL_TRACES_EXPORTER=none turns them off. An endpoint that is not an
// absolute http(s) URL is an error naming its variable: the SDK would
// otherwise drop every span without a word.
func Enabled(lookup func(string) (string, bool)) (bool, error) {
	get := func(name string) string { v, _ := lookup(name); return strings.TrimSpace(v) }
	set := false
	var errs []error
	for _, name := range []string{EndpointVar, TracesEndpointVar} {
		v := get(name)
		if v == "" {
			continue
		}
		set = true
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s: must be an absolute http(s) URL of an OTLP/HTTP receiver (e.g. http://otel-collector:4318)", name))
		}
	}
	if strings.EqualFold(get(DisabledVar), "true") || strings.EqualFold(get(ExporterVar), "none") {
		return false, errors.Join(errs...)
	}
	return set, errors.Join(errs...)
}

// Provider is a tracer provider that exports over OTLP/HTTP.
type Provider struct {
	tp *sdktrace.TracerProvider
}

// Start builds the provider the environment describes: spans batched and
// sent over OTLP/HTTP (otlptracehttp reads the endpoint, headers, timeout,
// compression and TLS variables), sampled by OTEL_TRACES_SAMPLER (default:
// follow the caller's decision, sample new traces), with the resource's
// service.name defaulting to service (OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES win). Export failures go to log at warn. Call
// it only when Enabled; Shutdown flushes what is buffered.
func Start(ctx context.Context, service string, log *slog.Logger) (*Provider, error) {
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", service)),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, fmt.Errorf("tracing: resource (%s): %w", "OTEL_RESOURCE_ATTRIBUTES", err)
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("tracing", "error", err.Error()) }))
	return &Provider{tp: sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))}, nil
}

// TracerProvider is the provider, for NewServer and NewGateway.
func (p *Provider) TracerProvider() trace.TracerProvider { return p.tp }

// Shutdown exports what is buffered and stops; ctx bounds the wait.
func (p *Provider) Shutdown(ctx context.Context) error { return p.tp.Shutdown(ctx) }

// scope names the instrumentation in every span.
const scope = "github.com/vertice/vertice/adapters/tracing"

// propagator reads and writes W3C traceparent/tracestate and baggage.
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// Server opens a server span per request, continuing the caller's trace.
type Server struct {
	tracer trace.Tracer
}

// NewServer returns a Server recording into tp.
func NewServer(tp trace.TracerProvider) *Server { return &Server{tracer: tp.Tracer(scope)} }

// Start continues r's trace (W3C traceparent), or starts one, with a
// server span named name (a route, not a raw path: "GET /services/:name").
// The returned context carries the span; end closes it with the status.
func (s *Server) Start(r *http.Request, name string) (context.Context, func(status int)) {
	ctx := propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := s.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path)))
	return ctx, func(status int) {
		setStatus(span, status)
		span.End()
	}
}

// setStatus records an HTTP status, and marks 5xx answers as errors (as
// OpenTelemetry's HTTP conventions do for servers).
func setStatus(span trace.Span, status int) {
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
}

// Setup is what a program calls at start: when enabled (Enabled), the
// provider Start builds and a stop that flushes it (bounded by five
// seconds); otherwise a nil provider, and a stop that does nothing.
func Setup(ctx context.Context, enabled bool, service string, log *slog.Logger) (trace.TracerProvider, func(), error) {
	if !enabled {
		return nil, func() {}, nil
	}
	p, err := Start(ctx, service, log)
	if err != nil {
		return nil, nil, err
	}
	return p.TracerProvider(), func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			log.Warn("tracing: flushing spans at shutdown", "error", err.Error())
		}
	}, nil
}
