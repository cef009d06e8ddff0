// Command vertice-sidecar registers one service with the Vértice registry
// and keeps it registered: it waits for the service's health endpoint,
// registers, heartbeats, re-registers when the registry forgets it, reports
// the service's health in the metadata and deregisters on SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"

	"github.com/vertice/vertice/internal/envconf"
	"github.com/vertice/vertice/internal/serve"
	"github.com/vertice/vertice/internal/serve/graceful"
)

func main() {
	healthcheck := flag.Bool("healthcheck", false,
		"ask this sidecar's status server whether it is registered; exit 0 (yes) or 1")
	flag.Parse()
	if *healthcheck {
		// Only SIDECAR_ADDR matters here: a healthcheck must not fail because
		// of an unrelated variable.
		addr := envconf.New(envconf.OS).String("SIDECAR_ADDR", DefaultStatusAddr)
		os.Exit(serve.Healthcheck(serve.LocalURL(addr) + "/health"))
	}
	cfg, err := LoadConfig(envconf.OS)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vertice-sidecar: bad configuration:\n"+err.Error())
		os.Exit(2)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		// The agent does one thing at a time; a single P saves the memory of
		// the idle ones (about 0.4 MB of RSS, measured by bench:sidecar).
		runtime.GOMAXPROCS(1)
	}
	// The live heap is about 0.5 MB; at the default GOGC=100 the runtime
	// lets 4 MB of garbage pile up before its first collection, which is
	// most of the RSS budget. A collection of so small a heap costs
	// microseconds, about once a minute at HEARTBEAT_INTERVAL=1.
	serve.DefaultGOGC(25)
	log := serve.Logger(cfg.LogLevel)
	ctx, stop := serve.SignalContext()
	defer stop()
	if err := run(ctx, cfg, log, nil); err != nil {
		log.Error("sidecar stopped", "error", err.Error())
		os.Exit(1)
	}
}

// run works until ctx ends, then deregisters and returns. ready, when not
// nil, receives the status server's address once it listens (tests use :0).
func run(ctx context.Context, cfg Config, log *slog.Logger, ready chan<- net.Addr) error {
	app, err := wire(cfg, log)
	if err != nil {
		return err
	}
	ln, err := serve.Listen(cfg.StatusAddr)
	if err != nil {
		return err
	}
	log.Info("sidecar starting", "service", cfg.ServiceName, "endpoint", cfg.Endpoint(),
		"health_url", cfg.HealthURL(), "registry", cfg.RegistryURL, "auth", cfg.RegistryToken != "",
		"registry_ca_file", cfg.RegistryCAFile,
		"status_addr", ln.Addr().String())
	if ready != nil {
		ready <- ln.Addr()
	}
	srvCtx, stopServer := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, 1)
	go func() { served <- graceful.Run(srvCtx, ln, app.status, log) }()

	// A failed deregistration is logged by the agent and is not a failed
	// stop: the instance still expires with its lease, and the process
	// did what SIGTERM asked, so it exits 0.
	_ = app.agent.Run(ctx)
	stopServer()
	return <-served
}
