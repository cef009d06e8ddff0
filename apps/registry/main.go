// Command vertice-registry serves the service registry API.
package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"

	"github.com/vertice/vertice/internal/envconf"
	"github.com/vertice/vertice/internal/serve"
	"github.com/vertice/vertice/internal/serve/graceful"
	"github.com/vertice/vertice/internal/serve/version"
)

// DefaultGCPercent is the registry's GOGC when the environment sets none.
// A lookup allocates a few KB of short-lived garbage (net/http, gin, the
// Redis reply, the JSON answer) over a live heap of a few MB, so at the
// default 100 the collector runs dozens of times a second under load.
// bench:registry at 50 connections: lookups 15.5k/s at 100, 20.4k/s at 400,
// register p99 11 ms at 100, 6.3 ms at 400 (rerun the 100 side with
// registrybench -registry-env GOGC=100); it costs a few MB more resident
// memory. GOGC in the environment still wins.
const DefaultGCPercent = 400

func main() {
	serve.Main(serve.Program[Config]{
		Name:     "vertice-registry",
		Load:     func() (Config, error) { return LoadConfig(envconf.OS) },
		Addr:     func(c Config) string { return c.Addr },
		TLS:      Config.TLS,
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
	app, err := wire(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer app.close()
	// The background work (reaper, catalog copy) ends with run, whether
	// ctx ended or the server could not start.
	bgCtx, stopBG := context.WithCancel(ctx)
	bg := make(chan struct{})
	go func() { defer close(bg); app.background(bgCtx) }()
	defer func() { stopBG(); <-bg }()
	ln, err := listen(cfg)
	if err != nil {
		return err
	}
	log.Info("registry listening", "addr", ln.Addr().String(), "backend", cfg.Backend(), "ttl", cfg.TTL.String(),
		"auth", cfg.Token != "", "tls", cfg.TLS(), "version", version.String(), "tracing", cfg.Tracing)
	if ready != nil {
		ready <- ln.Addr()
	}
	return graceful.Serve(ctx, ln, app.handler, log, cfg.HTTP)
}

// listen opens the API's address, behind TLS when the configuration has a
// certificate. The key pair is read once, at start: replacing it takes a
// restart (replicas behind the load balancer restart one at a time).
func listen(cfg Config) (net.Listener, error) {
	var conf *tls.Config
	if cfg.TLS() {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("REGISTRY_TLS_CERT_FILE/REGISTRY_TLS_KEY_FILE: %w", err)
		}
		// HTTP/1.1 only, as over plain http: the shipped binaries leave
		// net/http's HTTP/2 out (internal/images.BuildFlags).
		conf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
			NextProtos: []string{"http/1.1"}}
	}
	ln, err := serve.Listen(cfg.Addr)
	if err != nil || conf == nil {
		return ln, err
	}
	return tls.NewListener(ln, conf), nil
}
