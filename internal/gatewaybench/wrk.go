// Package gatewaybench measures requests/s and latency of a small upstream
// reached directly, through vertice-gateway and through nginx, on loopback,
// with wrk as the load generator. `go tool mage bench:gateway` runs it.
package gatewaybench

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
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
	return parseWrk(string(out))
}

// parseWrk reads wrk's --latency report.
func parseWrk(out string) (Result, error) {
	var r Result
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			r.RPS, _ = strconv.ParseFloat(f[1], 64)
		case len(f) == 2 && f[0] == "50%":
			r.P50, _ = parseWrkDuration(f[1])
		case len(f) == 2 && f[0] == "99%":
			r.P99, _ = parseWrkDuration(f[1])
		case len(f) >= 5 && f[0] == "Non-2xx":
			n, _ := strconv.Atoi(f[len(f)-1])
			r.Errors += n
		case len(f) >= 2 && f[0] == "Socket" && f[1] == "errors:":
			for i := 3; i < len(f); i += 2 {
				n, _ := strconv.Atoi(strings.TrimSuffix(f[i], ","))
				r.Errors += n
			}
		}
	}
	if r.RPS == 0 || r.P99 == 0 {
		return r, fmt.Errorf("wrk output not understood:\n%s", out)
	}
	return r, nil
}

// parseWrkDuration reads wrk's "812.00us", "1.23ms", "2.00s".
func parseWrkDuration(s string) (time.Duration, error) {
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, err
			}
			return time.Duration(f * float64(u.unit)), nil
		}
	}
	return 0, fmt.Errorf("wrk duration %q", s)
}
