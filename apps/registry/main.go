// Command vertice-registry serves the service registry API.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/vertice/vertice/internal/envconf"
	"github.com/vertice/vertice/internal/serve"
)

func main() {
	healthcheck := flag.Bool("healthcheck", false, "probe this registry's /health and exit 0 (healthy) or 1")
	flag.Parse()
	cfg, err := LoadConfig(envconf.OS)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vertice-registry: bad configuration:\n"+err.Error())
		os.Exit(2)
	}
	if *healthcheck {
		os.Exit(serve.Healthcheck(serve.LocalURL(cfg.Addr) + "/health"))
	}
	log := serve.Logger(cfg.LogLevel)
	ctx, stop := serve.SignalContext()
	defer stop()
	if err := run(ctx, cfg, log, nil); err != nil {
		log.Error("registry stopped", "error", err.Error())
		os.Exit(1)
	}
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
	return serve.Run(ctx, ln, app.handler, log)
}
