package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/vertice/vertice/internal/bench/host"
	"github.com/vertice/vertice/internal/bench/wrk"
)

// The registry workloads run with wrk, one thread, like redis-benchmark
// (see package wrk for why).

// Result is one wrk run and the CPU it cost.
type Result struct {
	wrk.Report
	Conns int
	// CPU time (user+system) spent during the run by wrk, by the registry
	// process that answered and by redis-server.
	LoadGenCPU, RegistryCPU, RedisCPU time.Duration
	// OtherCPU is the CPU the rest of the machine took meanwhile (busy
	// time in /proc/stat, steal included when the hypervisor reports it,
	// minus the three above): other work that competed with the run.
	OtherCPU time.Duration
}

// OtherShare is OtherCPU as a share of the machine's CPU time during the
// run, for cpus CPUs.
func (r Result) OtherShare(cpus int) float64 { return otherShare(r.OtherCPU, r.Elapsed, cpus) }

func otherShare(other, elapsed time.Duration, cpus int) float64 {
	if elapsed <= 0 || cpus <= 0 {
		return 0
	}
	return float64(other) / float64(elapsed*time.Duration(cpus))
}

// PerRequest is a CPU time divided over the run's answered requests.
func (r Result) PerRequest(d time.Duration) time.Duration {
	if r.Requests == 0 {
		return 0
	}
	return d / time.Duration(r.Requests)
}

func (r Result) String() string {
	return fmt.Sprintf("c=%d: %d requests in %s: %.0f req/s, p50 %s, p90 %s, p99 %s, errors %s; CPU/request: wrk %s, registry %s, redis %s; other CPU %s",
		r.Conns, r.Requests, r.Elapsed.Round(time.Millisecond), r.RPS, r.P50, r.P90, r.P99, r.ErrorText(),
		r.PerRequest(r.LoadGenCPU), r.PerRequest(r.RegistryCPU), r.PerRequest(r.RedisCPU), r.OtherCPU)
}

// runWrk runs wrk with one thread and conns connections against addr for
// d, sending reqs in turn, and measures the CPU that the registry process
// (pid registry), Redis (pid redis) and the rest of the machine spent
// meanwhile. dir keeps the script and result.
func runWrk(ctx context.Context, wrkBin, dir string, reqs []wrk.Request, addr string, conns int, d time.Duration, registry, redis int) (Result, error) {
	regBefore, redisBefore, busyBefore := host.ProcessCPU(registry), host.ProcessCPU(redis), host.MachineBusy()
	rep, err := wrk.Run(ctx, wrk.Options{Bin: wrkBin, URL: "http://" + addr + "/", Connections: conns, Duration: d,
		Timeout: 5 * time.Second, Requests: reqs, Dir: dir})
	regAfter, redisAfter, busyAfter := host.ProcessCPU(registry), host.ProcessCPU(redis), host.MachineBusy()
	if err != nil {
		return Result{}, fmt.Errorf("wrk -c %d: %w", conns, err)
	}
	res := Result{Report: rep, Conns: conns, LoadGenCPU: rep.CPU}
	res.RegistryCPU, res.RedisCPU = regAfter-regBefore, redisAfter-redisBefore
	res.OtherCPU = max(0, busyAfter-busyBefore-res.LoadGenCPU-res.RegistryCPU-res.RedisCPU)
	return res, nil
}
