package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/vertice/vertice/adapters/proxy"
	"github.com/vertice/vertice/adapters/ratelimit"
	"github.com/vertice/vertice/adapters/registryclient"
	"github.com/vertice/vertice/adapters/tracing"
	"github.com/vertice/vertice/domain/breaker"
	"github.com/vertice/vertice/domain/routing"
	"github.com/vertice/vertice/ports"
)

// app is the wired gateway: the only place adapters meet the core.
type app struct {
	handler http.Handler
	router  *routing.Router
	// follow keeps the routes current from the registry's change feed
	// until ctx ends (nil when REGISTRY_WATCH is off).
	follow func(ctx context.Context)
	// close flushes the spans not yet exported (nothing without tracing).
	close func()
}

// wire builds the gateway, with tracing when the configuration has it.
func wire(cfg Config, clock ports.Clock, log *slog.Logger) (*app, error) {
	tp, stopTracing, err := tracing.Setup(context.Background(), cfg.Tracing, "vertice-gateway", log)
	if err != nil {
		return nil, err
	}
	a, err := wireTraced(cfg, clock, log, tp)
	if err != nil {
		stopTracing()
		return nil, err
	}
	a.close = stopTracing
	return a, nil
}

// wireTraced builds the gateway with its spans going to tp (nil: no
// tracing at all, and no tracing hook on the request path).
func wireTraced(cfg Config, clock ports.Clock, log *slog.Logger, tp trace.TracerProvider) (*app, error) {
	dir, err := registryclient.New(cfg.RegistryURL, registryclient.Options{
		Timeout: cfg.RegistryTimeout, MaxIdleConnsPerHost: 16, UserAgent: "vertice-gateway",
	})
	if err != nil {
		return nil, err
	}
	bs := breaker.Settings{Failures: cfg.BreakerFailures, OpenFor: cfg.BreakerOpen}
	router, err := routing.New(dir, clock, fallbackOf(cfg.Fallbacks), routing.Settings{
		CacheTTL: cfg.CacheTTL, StaleFor: cfg.StaleFor, Registry: bs, Upstream: bs,
		EjectAfter: cfg.EjectAfter, EjectFor: cfg.EjectFor, ForgetAfter: cfg.ForgetAfter, FeedWait: cfg.FeedWait,
		Versions: cfg.Versions,
	})
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	stats, err := newStats(reg, router, slices.Sorted(maps.Keys(cfg.Limits)))
	if err != nil {
		return nil, err
	}
	o := proxy.Options{
		Router: router, DialTimeout: cfg.DialTimeout, Timeout: cfg.UpstreamTimeout,
		IdleTimeout: cfg.UpstreamIdleTimeout, WriteTimeout: cfg.HTTP.WriteTimeout, MaxHops: cfg.MaxHops,
		TrustForwarded: cfg.TrustForwarded, Observer: stats, Logger: log,
	}
	// Only what is configured goes on the request path: no limiter
	// without a <SERVICE>_RATE, no tracer without an OTLP endpoint.
	if len(cfg.Limits) > 0 {
		if o.Limiter, err = ratelimit.New(cfg.Limits, clock); err != nil {
			return nil, err
		}
	}
	if tp != nil {
		o.Tracer = tracing.NewGateway(tp)
	}
	p, err := proxy.New(o)
	if err != nil {
		return nil, err
	}
	h := mux(p, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), healthHandler(router, cfg.Watch))
	a := &app{handler: h, router: router, close: func() {}}
	if cfg.Watch {
		a.follow = func(ctx context.Context) { router.Follow(ctx, dir, ports.SystemSleeper{}) }
	}
	return a, nil
}

func fallbackOf(m map[string]string) routing.Fallback {
	return func(service string) (string, bool) { u, ok := m[service]; return u, ok }
}

// mux is a plain prefix switch: http.ServeMux would redirect paths it
// considers unclean (// or ..), which a proxy must pass through as sent.
func mux(p http.Handler, metrics http.Handler, health http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch path := r.URL.Path; {
		case strings.HasPrefix(path, proxy.DefaultPrefix):
			p.ServeHTTP(w, r)
		case path == "/health":
			health.ServeHTTP(w, r)
		case path == "/metrics":
			metrics.ServeHTTP(w, r)
		default:
			writeJSON(w, http.StatusNotFound, map[string]string{
				"detail": "no such endpoint: " + path + "; services are under /v2/{service}/{path}"})
		}
	})
}

// healthHandler is healthy while the gateway serves; with the registry's
// breaker open it still routes (cache, fallback), so it says degraded with
// a 200 rather than failing the container's healthcheck.
func healthHandler(router *routing.Router, watch bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		st := router.RegistryState(router.Now())
		body := map[string]string{"status": "healthy", "registry_breaker": st.String(), "routes": routesState(router, watch)}
		if st != breaker.Closed {
			body["status"] = "degraded"
			body["reason"] = "registry unreachable: routing from cache and fallback URLs"
		}
		writeJSON(w, http.StatusOK, body)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// routesState says how the gateway keeps its routes current: following the
// registry's change feed, or (REGISTRY_WATCH off, or the feed failing)
// reading each service again after CACHE_TTL.
func routesState(router *routing.Router, watch bool) string {
	switch {
	case router.Following():
		return "following the registry's change feed"
	case watch:
		return "change feed unavailable: reading the registry every CACHE_TTL"
	default:
		return "reading the registry every CACHE_TTL"
	}
}
