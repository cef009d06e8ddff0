// Command registrybench runs the registry benchmark and writes its report;
// `go tool mage bench:registry` builds the registry and calls it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vertice/vertice/internal/registrybench"
)

func main() {
	var cfg registrybench.Config
	out := flag.String("out", "docs/bench-registry.md", "report file (empty: print only)")
	flag.StringVar(&cfg.Registry, "registry", "bin/vertice-registry", "vertice-registry binary")
	flag.StringVar(&cfg.RedisServer, "redis-server", "redis-server", "redis-server binary")
	flag.StringVar(&cfg.RedisBenchmark, "redis-benchmark", "redis-benchmark", "redis-benchmark binary")
	flag.IntVar(&cfg.Concurrency, "c", 50, "connections")
	flag.IntVar(&cfg.LightConns, "light", 4, "connections for the light-load latency rows (0: skip)")
	flag.IntVar(&cfg.RedisRequests, "n", 100000, "redis-benchmark requests per test")
	flag.IntVar(&cfg.Services, "services", 100, "services registered before the lookups")
	flag.IntVar(&cfg.Instances, "instances", 1000, "instances the register run cycles through")
	flag.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "lookup warm-up")
	flag.DurationVar(&cfg.Duration, "duration", 5*time.Second, "bound per registry workload")
	flag.IntVar(&cfg.MaxRequests, "requests", 300000, "request bound per registry workload")
	flag.DurationVar(&cfg.LookupCacheTTL, "lookup-cache-ttl", time.Second, "extra lookup run with this LOOKUP_CACHE_TTL (0: skip)")
	flag.StringVar(&cfg.RedisQuery, "redis-query", "", "appended to REDIS_URL after ?, e.g. pool_size=100")
	env := flag.String("registry-env", "", "extra registry environment, comma-separated K=V")
	rounds := flag.Int("rounds", 3, "complete rounds; the report shows the one with the median lookup ratio")
	flag.Parse()
	if *env != "" {
		cfg.RegistryEnv = strings.Split(*env, ",")
	}
	if err := run(cfg, *rounds, *out); err != nil {
		fmt.Fprintln(os.Stderr, "registrybench:", err)
		os.Exit(1)
	}
}

func run(cfg registrybench.Config, rounds int, out string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "vertice-registrybench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.WorkDir = dir
	rep, err := registrybench.RunRounds(ctx, cfg, rounds, os.Stdout)
	if err != nil {
		return err
	}
	fmt.Print("\n" + rep.Table() + "\n" + rep.Goals())
	if out == "" {
		return nil
	}
	if err := os.WriteFile(out, []byte(rep.Markdown()), 0o644); err != nil {
		return err
	}
	fmt.Println("wrote", out)
	return nil
}
