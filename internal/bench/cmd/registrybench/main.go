// Command registrybench runs the registry benchmark and writes its report;
// `go tool mage bench:registry` builds the registry and calls it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	registrybench "github.com/vertice/vertice/internal/bench/registry"
)

func main() {
	var cfg registrybench.Config
	out := flag.String("out", "docs/bench-registry.md", "report file (empty: print only)")
	flag.StringVar(&cfg.Registry, "registry", "bin/vertice-registry", "vertice-registry binary")
	flag.StringVar(&cfg.RedisServer, "redis-server", "redis-server", "redis-server binary")
	flag.StringVar(&cfg.RedisBenchmark, "redis-benchmark", "redis-benchmark", "redis-benchmark binary")
	flag.StringVar(&cfg.Wrk, "wrk", "wrk", "wrk binary (the registry's load generator)")
	flag.IntVar(&cfg.Concurrency, "c", 50, "connections for redis-benchmark and the main registry rows")
	sweep := flag.String("sweep", "1,2,4,8,16,32", "further connection counts for lookups and registers, comma-separated (empty: none)")
	flag.DurationVar(&cfg.SweepDuration, "sweep-duration", 3*time.Second, "per sweep point (whole seconds)")
	flag.IntVar(&cfg.RedisRequests, "n", 100000, "redis-benchmark requests per test")
	flag.IntVar(&cfg.Services, "services", 100, "services registered before the lookups")
	flag.IntVar(&cfg.Instances, "instances", 1000, "instances the register runs cycle through")
	flag.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "lookup warm-up (whole seconds)")
	flag.DurationVar(&cfg.Duration, "duration", 5*time.Second, "per main registry row (whole seconds)")
	flag.IntVar(&cfg.Watchers, "watchers", 2000, "idle blocking queries held on the registry at the end (0: skip)")
	flag.IntVar(&cfg.WatchServices, "watch-services", 100, "services the watchers are spread over")
	flag.DurationVar(&cfg.IdleFor, "idle-for", 10*time.Second, "how long the idle watchers' CPU is measured")
	flag.StringVar(&cfg.RedisQuery, "redis-query", "", "appended to REDIS_URL after ?, e.g. pool_size=100")
	env := flag.String("registry-env", "", "extra registry environment, comma-separated K=V")
	rounds := flag.Int("rounds", 3, "complete rounds; the report shows the one with the median lookup ratio")
	flag.Parse()
	if *env != "" {
		cfg.RegistryEnv = strings.Split(*env, ",")
	}
	for _, f := range strings.Split(*sweep, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "registrybench: -sweep: %q is not a positive connection count\n", f)
			os.Exit(2)
		}
		if n != cfg.Concurrency { // that one is the main row
			cfg.Sweep = append(cfg.Sweep, n)
		}
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
	cfg.WorkDir = dir
	rep, err := registrybench.RunRounds(ctx, cfg, rounds, os.Stdout)
	if err != nil {
		// Kept: the servers' logs and the wrk scripts are there.
		return fmt.Errorf("%w (work files kept in %s)", err, dir)
	}
	os.RemoveAll(dir)
	fmt.Print("\n" + rep.Table() + "\n" + rep.SweepTable() + "\n" + rep.Goals())
	if out == "" {
		return nil
	}
	if err := os.WriteFile(out, []byte(rep.Markdown()), 0o644); err != nil {
		return err
	}
	fmt.Println("wrote", out)
	return nil
}
