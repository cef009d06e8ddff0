// Command vertice-demo is a tiny HTTP service to put behind a sidecar in
// demos, the gateway's tests and chaos tests. Its health can be flipped at
// run time (POST /admin/health?status=unhealthy) to show a live but sick
// instance being marked unhealthy in the registry.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/vertice/vertice/internal/envconf"
	"github.com/vertice/vertice/internal/serve"
	"github.com/vertice/vertice/internal/serve/graceful"
)

// Config is read from DEMO_ADDR (default :8080), DEMO_NAME (default the
// hostname) and LOG_LEVEL.
type Config struct {
	Addr, Name, LogLevel string
}

// LoadConfig reads the environment.
func LoadConfig(lookup envconf.Lookup) (Config, error) {
	r := envconf.New(lookup)
	host, _ := os.Hostname()
	c := Config{
		Addr:     r.String("DEMO_ADDR", ":8080"),
		Name:     r.String("DEMO_NAME", host),
		LogLevel: r.String("LOG_LEVEL", "info"),
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		r.Fail("DEMO_ADDR", fmt.Sprintf("%q must be host:port or :port (e.g. :8080)", c.Addr))
	}
	return c, r.Err()
}

func main() {
	serve.Main(serve.Program[Config]{
		Name:     "vertice-demo",
		Load:     func() (Config, error) { return LoadConfig(envconf.OS) },
		Addr:     func(c Config) string { return c.Addr },
		LogLevel: func(c Config) string { return c.LogLevel },
		Run: func(ctx context.Context, c Config, log *slog.Logger) error {
			return run(ctx, c, log, nil)
		},
	})
}

func run(ctx context.Context, cfg Config, log *slog.Logger, ready chan<- net.Addr) error {
	ln, err := serve.Listen(cfg.Addr)
	if err != nil {
		return err
	}
	log.Info("demo listening", "addr", ln.Addr().String(), "name", cfg.Name)
	if ready != nil {
		ready <- ln.Addr()
	}
	return graceful.Run(ctx, ln, newHandler(cfg.Name, ln.Addr().String(), log), log)
}
