// Command gatewaybench compares a small upstream reached directly, through
// vertice-gateway and through nginx. `go tool mage bench:gateway` runs it;
// "gatewaybench upstream -addr A" is the upstream role it starts itself.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	gatewaybench "github.com/vertice/vertice/internal/bench/gateway"
	"github.com/vertice/vertice/internal/bench/host"
	"github.com/vertice/vertice/internal/bench/wrk"
	"github.com/vertice/vertice/internal/serve"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "upstream" {
		fs := flag.NewFlagSet("upstream", flag.ExitOnError)
		addr := fs.String("addr", "127.0.0.1:0", "listen address")
		_ = fs.Parse(os.Args[2:])
		if err := gatewaybench.Upstream(*addr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "bareproxy" {
		fs := flag.NewFlagSet("bareproxy", flag.ExitOnError)
		addr := fs.String("addr", "127.0.0.1:0", "listen address")
		upstream := fs.String("upstream", "", "upstream base URL")
		_ = fs.Parse(os.Args[2:])
		if err := gatewaybench.BareProxy(*addr, *upstream); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gatewaybench:", err)
		os.Exit(1)
	}
}

func run() error {
	gateway := flag.String("gateway", "bin/vertice-gateway", "gateway binary")
	baseline := flag.String("baseline", "", "another gateway binary to measure alongside, e.g. one built from main (optional)")
	nginx := flag.String("nginx", "/usr/sbin/nginx", "nginx binary")
	duration := flag.Duration("duration", 10*time.Second, "measured time per run (whole seconds)")
	warmup := flag.Duration("warmup", 2*time.Second, "warm-up per run (whole seconds)")
	conns := flag.String("connections", "1,50", "comma-separated wrk connection counts")
	rounds := flag.Int("rounds", 1, "rounds of every path in turn; each row is the path's median round")
	only := flag.String("only", "", "|-separated paths to measure besides direct, e.g. \"vertice-gateway|vertice-gateway, baseline binary\"")
	serverCPUs := flag.String("server-cpus", "0", "taskset CPU list for the upstream and proxies")
	loadCPUs := flag.String("load-cpus", "1", "taskset CPU list for wrk")
	out := flag.String("out", "docs/bench-gateway.md", "markdown report")
	command := flag.String("command", "go tool mage bench:gateway", "command printed in the report")
	flag.Parse()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "gatewaybench-")
	if err != nil {
		return err
	}
	cfg := gatewaybench.Config{Gateway: *gateway, Baseline: *baseline, Nginx: *nginx, Self: self, Warmup: *warmup, Duration: *duration, Rounds: *rounds,
		ServerCPUs: *serverCPUs, LoadCPUs: *loadCPUs, WorkDir: work}
	if *only != "" {
		cfg.Only = strings.Split(*only, "|")
	}
	for _, c := range strings.Split(*conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil {
			return fmt.Errorf("-connections: %w", err)
		}
		cfg.Connections = append(cfg.Connections, n)
	}
	ctx, stop := serve.SignalContext()
	defer stop()
	loadBefore := host.Loadavg()
	rows, err := gatewaybench.Run(ctx, cfg, os.Stdout)
	if err != nil {
		return err
	}
	host := fmt.Sprintf("%s; load average %s before, %s after (other work on the host inflates tails)",
		machine(ctx), loadBefore, host.Loadavg())
	_ = os.RemoveAll(work)
	md := gatewaybench.Markdown(rows, cfg, host, *command)
	fmt.Println("\n" + md)
	if err := os.MkdirAll("docs", 0o755); err != nil {
		return err
	}
	return os.WriteFile(*out, []byte(md), 0o644)
}

// machine describes the host and the tools for the report.
func machine(ctx context.Context) string {
	ng, _ := exec.CommandContext(ctx, "/usr/sbin/nginx", "-v").CombinedOutput()
	return fmt.Sprintf("%s, %s, %s", host.Machine(), strings.TrimSpace(string(ng)), wrk.Version(ctx, ""))
}
