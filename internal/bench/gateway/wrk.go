// Package gatewaybench measures requests/s and latency of a small upstream
// reached directly, through vertice-gateway and through nginx, on loopback,
// with wrk as the load generator. `go tool mage bench:gateway` runs it.
package gateway

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"time"

	"github.com/vertice/vertice/internal/wrk"
)

// Result is one wrk run.
type Result struct {
	RPS      float64
	P50, P99 time.Duration
	Errors   int // non-2xx answers plus socket errors
}

// runWrk drives url for d with c connections on one thread, pinned to cpus.
func runWrk(ctx context.Context, cpus, url string, c int, d time.Duration) (Result, error) {
	args := []string{"-c", cpus, "wrk", "-t1", "-c" + strconv.Itoa(c), "-d" + strconv.Itoa(int(d.Seconds())) + "s", "--latency", url}
	out, err := exec.CommandContext(ctx, "taskset", args...).CombinedOutput()
	if err != nil {
		return Result{}, fmt.Errorf("wrk %s: %w\n%s", url, err, out)
	}
	rep, err := wrk.Parse(string(out))
	return Result{RPS: rep.RPS, P50: rep.P50, P99: rep.P99, Errors: rep.Errors()}, err
}
