// Package local runs Vértice on this machine, for `go tool mage run`: the
// registry on the in-memory store, a demo service with its sidecar, and
// the gateway, as processes sharing the terminal, until the context ends.
package local

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// programs are the processes and their settings, in start order.
var programs = []struct {
	app string
	env []string
}{
	{"registry", []string{"REGISTRY_ADDR=:8888"}},
	{"demo", []string{"DEMO_ADDR=127.0.0.1:8080", "DEMO_NAME=demo_service"}},
	{"sidecar", []string{"SERVICE_NAME=demo_service", "SERVICE_HOST=127.0.0.1", "SERVICE_PORT=8080",
		"REGISTRY_URL=http://127.0.0.1:8888", "HEARTBEAT_INTERVAL=10", "SIDECAR_ADDR=127.0.0.1:9100",
		"SERVICE_METADATA=version=1.0.0"}},
	{"gateway", []string{"GATEWAY_ADDR=:8000", "REGISTRY_URL=http://127.0.0.1:8888"}},
}

// Run starts bin/vertice-<app> for each program with its output on out,
// prints what to try, and returns when ctx ends (every program gets
// SIGTERM; nil) or when one program exits on its own (the others are
// stopped; that program's error).
func Run(ctx context.Context, bin string, out io.Writer) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, len(programs))
	started := 0
	for _, p := range programs {
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "vertice-"+p.app))
		cmd.Env = append(os.Environ(), p.env...)
		cmd.Stdout, cmd.Stderr = out, out
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		if err := cmd.Start(); err != nil {
			stop()
			for range started {
				<-done
			}
			return fmt.Errorf("start vertice-%s: %w", p.app, err)
		}
		started++
		go func() { done <- cmd.Wait() }()
	}
	fmt.Fprint(out, Banner)
	var first error
	stopped := false
	for range programs {
		err := <-done
		if !stopped && ctx.Err() == nil {
			first, stopped = err, true // one program died on its own: stop the others
			stop()
		}
	}
	return first
}

// Banner says what runs where and what to try.
const Banner = `
Vértice is running on this machine (in-memory store; Ctrl-C stops everything):
  registry  http://localhost:8888   demo service http://localhost:8080
  gateway   http://localhost:8000   sidecar status http://localhost:9100/health
  web UI    http://localhost:8888/ui/

The sidecar registers demo_service as soon as it answers /health:
  curl localhost:8888/services
  curl localhost:8888/services/demo_service
  curl localhost:8000/v2/demo_service/echo?hello=world
  bin/vertice services
  bin/vertice get demo_service

Register something yourself (and watch it come and go: bin/vertice watch):
  curl -X POST localhost:8888/register -d '{"service_name":"my_service","endpoint":"http://vertice-my-service:8080","health_endpoint":"/health","metadata":{"version":"1.0.0"}}'
  bin/vertice register my_service http://vertice-my-service:8080 --meta version=1.0.0
  bin/vertice get my_service

`
