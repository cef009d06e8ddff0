// Command sidecarbench measures the sidecar's footprint and writes its
// report; `go tool mage bench:sidecar` builds the programs and calls it.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	sidecarbench "github.com/vertice/vertice/internal/bench/sidecar"
	"github.com/vertice/vertice/internal/serve"
)

func main() {
	cfg := sidecarbench.Config{Every: 5 * time.Second}
	flag.StringVar(&cfg.Bin, "bin", "bin", "folder with vertice-sidecar, vertice-registry and vertice-demo")
	flag.StringVar(&cfg.Dockerfile, "dockerfile", "deploy/sidecar.Dockerfile", "the sidecar's image definition")
	flag.DurationVar(&cfg.Duration, "duration", 60*time.Second, "how long the sidecar runs once registered (BENCH_SIDECAR_DURATION)")
	out := flag.String("out", "docs/bench-sidecar.md", "report file (empty: print only)")
	flag.Parse()
	if err := run(cfg, *out); err != nil {
		fmt.Fprintln(os.Stderr, "sidecarbench:", err)
		os.Exit(1)
	}
}

func run(cfg sidecarbench.Config, out string) error {
	ctx, stop := serve.SignalContext()
	defer stop()
	dir, err := os.MkdirTemp("", "vertice-sidecarbench-")
	if err != nil {
		return err
	}
	cfg.WorkDir = dir
	res, err := sidecarbench.Run(ctx, cfg)
	if err != nil {
		return fmt.Errorf("%w (logs kept in %s)", err, dir)
	}
	os.RemoveAll(dir)
	md := sidecarbench.Markdown(res, cfg.Duration, time.Now())
	fmt.Print(md)
	if out == "" {
		return nil
	}
	return os.WriteFile(out, []byte(md), 0o644)
}
