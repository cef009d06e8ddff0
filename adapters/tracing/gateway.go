package tracing

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/vertice/vertice/adapters/proxy"
)

// Attributes of the gateway's span, beyond OpenTelemetry's HTTP ones.
const (
	ServiceKey  = attribute.Key("vertice.service")
	InstanceKey = attribute.Key("vertice.instance")
	VersionKey  = attribute.Key("vertice.version")
	UpstreamKey = attribute.Key("vertice.upstream.duration") // seconds to the upstream's response headers
	RetriesKey  = attribute.Key("vertice.retries")           // instances tried after the first
)

// Gateway is the proxy's Tracer: one server span per request, whose
// context goes to the upstream, so the upstream's spans are its children
// (same trace ID, the gateway's span as parent).
type Gateway struct {
	tracer trace.Tracer
}

// NewGateway returns the gateway's tracer recording into tp.
func NewGateway(tp trace.TracerProvider) *Gateway { return &Gateway{tracer: tp.Tracer(scope)} }

// Start continues the client's trace or starts one. The span is named for
// the route ("GET /v2/{service}"), and renamed for the service once the
// request reached one, so that made-up names cannot multiply span names.
func (g *Gateway) Start(r *http.Request) proxy.Span {
	ctx := propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := g.tracer.Start(ctx, r.Method+" /v2/{service}", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path)))
	return &gatewaySpan{ctx: ctx, span: span, method: r.Method}
}

type gatewaySpan struct {
	ctx    context.Context
	span   trace.Span
	method string
}

func (s *gatewaySpan) Inject(h http.Header) {
	propagator.Inject(s.ctx, propagation.HeaderCarrier(h))
}

func (s *gatewaySpan) End(o proxy.Outcome) {
	if s.span.IsRecording() {
		if o.Service != "" {
			s.span.SetAttributes(ServiceKey.String(o.Service))
		}
		if o.Instance != "" {
			s.span.SetName(s.method + " /v2/" + o.Service)
			s.span.SetAttributes(InstanceKey.String(o.Instance), VersionKey.String(o.Version),
				UpstreamKey.Float64(o.Upstream.Seconds()), RetriesKey.Int(max(0, o.Attempts-1)))
		}
		setStatus(s.span, o.Status)
	}
	s.span.End()
}

var _ proxy.Tracer = (*Gateway)(nil)
