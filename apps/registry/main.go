// Command vertice-registry serves the service registry API.
package main

import (
	"context"
	"log/slog"
	"net"

	"github.com/vertice/vertice/internal/envconf"
	"github.com/vertice/vertice/internal/serve"
	"github.com/vertice/vertice/internal/serve/graceful"
)

func main() {
	serve.Main(serve.Program[Config]{
		Name:     "vertice-registry",
		Load:     func() (Config, error) { return LoadConfig(envconf.OS) },
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
	app, err := wire(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer app.close()
	ln, err := serve.Listen(cfg.Addr)
	if err != nil {
		return err
	}
	log.Info("registry listening", "addr", ln.Addr().String(), "backend", cfg.Backend(), "ttl", cfg.TTL.String(),
		"auth", cfg.Token != "")
	if ready != nil {
		ready <- ln.Addr()
	}
	return graceful.Run(ctx, ln, app.handler, log)
}
