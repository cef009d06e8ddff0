// Command vertice-gateway routes /v2/{service}/{path} to the instances the
// registry lists, with a short cache, circuit breakers and fallback URLs.
package main

import (
	"context"
	"log/slog"
	"net"
	"os"

	"github.com/vertice/vertice/internal/envconf"
	"github.com/vertice/vertice/internal/serve"
	"github.com/vertice/vertice/internal/serve/graceful"
	"github.com/vertice/vertice/ports"
)

// DefaultGCPercent is the gateway's GOGC when the environment sets none.
// Each request allocates about 8 KB of short-lived garbage (net/http's
// request and response objects) over a live heap of a few MB, so at the
// default 100 the collector runs dozens of times a second under load and
// takes CPU the proxying needs. 400 lets the heap grow to five times the
// live set between collections instead of twice: a few MB more resident
// memory for markedly less GC work. GOGC in the environment still wins.
const DefaultGCPercent = 400

func main() {
	serve.Main(serve.Program[Config]{
		Name:     "vertice-gateway",
		Load:     func() (Config, error) { return LoadConfig(envconf.OS, os.Environ()) },
		Addr:     func(c Config) string { return c.Addr },
		LogLevel: func(c Config) string { return c.LogLevel },
		Run: func(ctx context.Context, c Config, log *slog.Logger) error {
			return run(ctx, c, log, nil)
		},
		GCPercent: DefaultGCPercent,
	})
}

// run serves until ctx ends. ready, when not nil, receives the bound
// address once the server listens (tests use ":0").
func run(ctx context.Context, cfg Config, log *slog.Logger, ready chan<- net.Addr) error {
	app, err := wire(cfg, ports.SystemClock{}, log)
	if err != nil {
		return err
	}
	defer app.close() // after the server drained: the last spans go out
	ln, err := serve.Listen(cfg.Addr)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	log.Info("gateway listening", "addr", ln.Addr().String(), "registry", cfg.RegistryURL,
		"watch", cfg.Watch, "cache_ttl", cfg.CacheTTL.String(), "fallbacks", cfg.FallbackNames(),
		"versions", cfg.VersionSplits(), "rate_limits", cfg.RateLimits(), "tracing", cfg.Tracing)
	if ready != nil {
		ready <- ln.Addr()
	}
	if app.follow != nil {
		followCtx, stopFollowing := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); app.follow(followCtx) }()
		defer func() { stopFollowing(); <-done }()
	}
	return graceful.Serve(ctx, ln, app.handler, log, cfg.HTTP)
}
