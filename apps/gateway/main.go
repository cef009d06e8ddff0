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
	"github.com/vertice/vertice/ports"
)

func main() {
	serve.Main(serve.Program[Config]{
		Name:     "vertice-gateway",
		Load:     func() (Config, error) { return LoadConfig(envconf.OS, os.Environ()) },
		Addr:     func(c Config) string { return c.Addr },
		LogLevel: func(c Config) string { return c.LogLevel },
		Run: func(ctx context.Context, c Config, log *slog.Logger) error {
			return run(ctx, c, log, nil)
		},
	})
}

// run serves until ctx ends. ready, when not nil, receives the bound
// address once the server listens (tests use ":0").
func run(ctx context.Context, cfg Config, log *slog.Logger, ready chan<- net.Addr) error {
	app, err := wire(cfg, ports.SystemClock{}, log)
	if err != nil {
		return err
	}
	ln, err := serve.Listen(cfg.Addr)
	if err != nil {
		return err
	}
	log.Info("gateway listening", "addr", ln.Addr().String(), "registry", cfg.RegistryURL,
		"cache_ttl", cfg.CacheTTL.String(), "fallbacks", cfg.FallbackNames())
	if ready != nil {
		ready <- ln.Addr()
	}
	return serve.Run(ctx, ln, app.handler, log)
}
