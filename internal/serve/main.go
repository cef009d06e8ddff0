package serve

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/vertice/vertice/internal/serve/version"
)

// Program describes one of Vértice's HTTP servers for Main.
type Program[C any] struct {
	// Name is the binary's name, for messages ("vertice-registry").
	Name string
	// Load reads the configuration from the environment.
	Load func() (C, error)
	// Addr is the listen address -healthcheck probes /health on.
	Addr func(C) string
	// TLS, when set and true, says the server speaks https, so
	// -healthcheck does too; nil means plain http.
	TLS func(C) bool
	// LogLevel is the configured level name.
	LogLevel func(C) string
	// Run serves until its context ends.
	Run func(context.Context, C, *slog.Logger) error
	// GCPercent, when positive, is GOGC unless the environment sets it.
	GCPercent int
}

// Main is the whole main() of a server: -healthcheck probes the local
// /health and exits 0 or 1; -version prints the build and exits 0; a bad configuration exits 2 naming every bad
// variable; otherwise it runs until SIGTERM or SIGINT, exiting 1 when it
// fails.
func Main[C any](p Program[C]) {
	if p.GCPercent > 0 {
		DefaultGOGC(p.GCPercent)
	}
	healthcheck := flag.Bool("healthcheck", false, "probe this "+p.Name+"'s /health and exit 0 (healthy) or 1")
	showVersion := flag.Bool("version", false, "print this "+p.Name+"'s version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(p.Name, version.String())
		os.Exit(0)
	}
	cfg, err := p.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, p.Name+": bad configuration:\n"+err.Error())
		os.Exit(2)
	}
	if *healthcheck {
		os.Exit(Healthcheck(withScheme(LocalURL(p.Addr(cfg)), p.TLS != nil && p.TLS(cfg)) + "/health"))
	}
	log := Logger(p.LogLevel(cfg))
	ctx, stop := SignalContext()
	defer stop()
	if err := p.Run(ctx, cfg, log); err != nil {
		log.Error(p.Name+" stopped", "error", err.Error())
		stop()
		os.Exit(1)
	}
}
