package registry

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vertice/vertice/internal/wrk"
)

// The registry workloads run with wrk (C, one thread here, like
// redis-benchmark) rather than a Go load generator: on a 2-CPU machine the
// load generator's own CPU is taken from the registry and Redis, so it has
// to cost about what redis-benchmark costs for the ratio to mean anything.
// wrk's latencies are per request, from its write to the whole answer,
// over every connection, closed loop (like redis-benchmark's).

// request is one HTTP request of a workload; Body is sent as JSON.
type request struct {
	Method, Path string
	Body         []byte
}

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

// wrkScript is a wrk Lua script that sends reqs in turn, request i of the
// run being reqs[i mod len(reqs)] (one wrk thread, so one counter). The
// requests are formatted once, in init; wrk calls request() for each one.
func wrkScript(reqs []request) string {
	var b strings.Builder
	b.WriteString("-- written by internal/registrybench for one benchmark run\nlocal specs = {\n")
	for _, r := range reqs {
		body := "nil"
		if r.Body != nil {
			body = luaString(string(r.Body))
		}
		fmt.Fprintf(&b, "  {%s, %s, %s},\n", luaString(r.Method), luaString(r.Path), body)
	}
	b.WriteString(`}
local reqs = {}
function init(args)
  for i, s in ipairs(specs) do
    local headers = {}
    if s[3] then headers["Content-Type"] = "application/json" end
    reqs[i] = wrk.format(s[1], s[2], headers, s[3])
  end
end
local n = 0
function request()
  n = n + 1
  return reqs[(n - 1) % #reqs + 1]
end
`)
	return b.String()
}

// luaString quotes s as a Lua string literal.
func luaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' || c == '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// writeWrkScript writes the script for reqs into dir as name.lua.
func writeWrkScript(dir, name string, reqs []request) (string, error) {
	path := filepath.Join(dir, name+".lua")
	return path, os.WriteFile(path, []byte(wrkScript(reqs)), 0o644)
}

// wrkSeconds is d in whole seconds, at least 1: wrk's -d takes integers.
func wrkSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// runWrk runs wrk with one thread and conns connections against addr for
// d, with script, and measures the CPU that wrk, the registry process
// (pid registry) and Redis (pid redis) spent meanwhile.
func runWrk(ctx context.Context, wrkBin, script, addr string, conns int, d time.Duration, registry, redis int) (Result, error) {
	cmd := exec.CommandContext(ctx, wrkBin, "-t1", "-c", strconv.Itoa(conns), "-d", strconv.Itoa(wrkSeconds(d))+"s",
		"--timeout", "5s", "--latency", "-s", script, "http://"+addr)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	regBefore, redisBefore, busyBefore := procCPU(registry), procCPU(redis), machineBusy()
	err := cmd.Run()
	regAfter, redisAfter, busyAfter := procCPU(registry), procCPU(redis), machineBusy()
	if err != nil {
		return Result{}, fmt.Errorf("wrk -c %d: %w: %s%s", conns, err, errOut.String(), out.String())
	}
	rep, err := wrk.Parse(out.String())
	res := Result{Report: rep}
	if err != nil {
		// wrk exits 0 when it cannot connect, saying so on stderr.
		return res, fmt.Errorf("%w\n%s", err, errOut.String())
	}
	res.Conns = conns
	res.LoadGenCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	res.RegistryCPU, res.RedisCPU = regAfter-regBefore, redisAfter-redisBefore
	res.OtherCPU = max(0, busyAfter-busyBefore-res.LoadGenCPU-res.RegistryCPU-res.RedisCPU)
	return res, nil
}

// machineBusy is the machine's busy CPU time so far, every CPU together,
// from /proc/stat; 0 when unknown.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	return parseProcStatBusy(string(b))
}

// parseProcStatBusy adds up the first ("cpu") line's user, nice, system,
// irq, softirq and steal ticks (guest time is within user); idle and
// iowait are not busy.
func parseProcStatBusy(stat string) time.Duration {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system irq softirq steal
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// procCPU is a process's user+system CPU time so far from /proc/pid/stat
// (in clock ticks of 1/100 s, Linux's USER_HZ), 0 when unknown.
func procCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	return parseProcStatCPU(string(b))
}

// parseProcStatCPU reads utime and stime, fields 14 and 15 of
// /proc/pid/stat, counting after the command name in parentheses (which
// may hold spaces).
func parseProcStatCPU(stat string) time.Duration {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
