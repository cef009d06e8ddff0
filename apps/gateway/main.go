// Command vertice-gateway routes /v2/{service}/{path} to the instances the
// registry lists, with a short cache, circuit breakers and fallback URLs.
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
	"github.com/vertice/vertice/ports"
)

func main() {
	healthcheck := flag.Bool("healthcheck", false, "probe this gateway's /health and exit 0 (healthy) or 1")
	flag.Parse()
	cfg, err := LoadConfig(envconf.OS, os.Environ())
	if err != nil {
		fmt.Fprintln(os.Stderr, "vertice-gateway: bad configuration:\n"+err.Error())
		os.Exit(2)
	}
	if *healthcheck {
		os.Exit(serve.Healthcheck(serve.LocalURL(cfg.Addr) + "/health"))
	}
	log := serve.Logger(cfg.LogLevel)
	ctx, stop := serve.SignalContext()
	defer stop()
	if err := run(ctx, cfg, log, nil); err != nil {
		log.Error("gateway stopped", "error", err.Error())
		os.Exit(1)
	}
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
