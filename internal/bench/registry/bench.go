// Package registrybench measures the registry's lookup and register
// throughput and latency through the real HTTP server on a real Redis,
// driven by wrk, next to redis-benchmark's GET and SET on the same Redis in
// the same run, all on 127.0.0.1, at redis-benchmark's 50 connections and
// over a sweep of fewer. `go tool mage bench:registry` runs it.
//
// Redis is Debian's redis-server as a local process on a loopback port,
// not a container: Docker's port mapping (docker-proxy or NAT) would add a
// hop to every registry→Redis call that production does not have, and
// redis-benchmark would pay it too, so both numbers would measure Docker.
package registry

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/vertice/vertice/internal/bench/host"
	"github.com/vertice/vertice/internal/bench/wrk"
	"github.com/vertice/vertice/internal/testkit/freeport"
	"github.com/vertice/vertice/internal/testkit/poll"
	"github.com/vertice/vertice/internal/testkit/proc"
)

// Config says what to run. main fills every field from flags.
type Config struct {
	Registry       string // vertice-registry binary
	RedisServer    string // redis-server binary
	RedisBenchmark string // redis-benchmark binary
	Wrk            string // wrk binary (wrk 4), the registry's load generator
	Concurrency    int    // connections, for redis-benchmark and the main registry rows alike
	// Sweep lists further connection counts at which lookups and registers
	// run for SweepDuration each, for the throughput a p99 bound allows.
	Sweep         []int
	SweepDuration time.Duration
	RedisRequests int // redis-benchmark -n
	Services      int // services registered before the lookups
	Instances     int // distinct instances the register runs cycle through
	Warmup        time.Duration
	Duration      time.Duration // per main registry row (whole seconds: wrk's -d)
	WorkDir       string
	// RedisQuery is appended to REDIS_URL (go-redis options such as
	// pool_size=100), RegistryEnv to the registry's environment: knobs for
	// experiments; the report names them when set.
	RedisQuery  string
	RegistryEnv []string
	// Watchers is how many idle blocking queries the watch phase holds on
	// the registry (0: no watch phase), spread over WatchServices services;
	// IdleFor is how long it measures their cost.
	Watchers, WatchServices int
	IdleFor                 time.Duration
}

// RedisResult is one redis-benchmark test.
type RedisResult struct {
	Test     string
	RPS      float64
	P50, P99 time.Duration
	// CPU per request of redis-benchmark and of redis-server, over the
	// whole redis-benchmark run (GET and SET together).
	LoadGenCPU, RedisCPU time.Duration
	// The rest of the machine's CPU over that run and the run's length
	// (see Result.OtherCPU).
	OtherCPU, Elapsed time.Duration
}

// OtherShare is OtherCPU as a share of the machine's CPU time, for cpus
// CPUs.
func (r RedisResult) OtherShare(cpus int) float64 { return otherShare(r.OtherCPU, r.Elapsed, cpus) }

// Report is one run's numbers.
type Report struct {
	Config
	Start                 time.Time
	Machine               string
	CPUs                  int
	LoadBefore, LoadAfter string // /proc/loadavg: other work on the machine skews every number
	RedisVersion          string
	WrkVersion            string
	RedisGET, RedisSET    RedisResult
	// At Concurrency connections.
	Lookup, Register      Result
	LookupWarm, Heartbeat Result
	// Watch is the idle blocking queries' cost, and who a change woke.
	Watch WatchResult
	// At each of Sweep's connection counts, in that order.
	LookupSweep, RegisterSweep []Result
	// Rounds holds every round's report when RunRounds ran several; this
	// report is the median one (see MedianOf).
	Rounds []Report
	// MedianOf is how many rounds the median was taken from: those with
	// at most MaxOtherShare other CPU, or all when none was that quiet.
	MedianOf int
}

// MaxOtherShare is the most other work (as a share of the machine, see
// Result.OtherCPU) a round may have had to count for the median.
const MaxOtherShare = 0.10

// Disturbed says other work in this machine took more than MaxOtherShare
// of it during redis-benchmark or during the registry runs.
func (r Report) Disturbed() bool {
	return r.RedisGET.OtherShare(r.CPUs) > MaxOtherShare || r.otherShare() > MaxOtherShare
}

// RunRounds runs n complete rounds (fresh Redis and registries each) and
// returns the round with the median lookup/GET ratio among the undisturbed
// ones (all when every one was disturbed), every round in Rounds: on a
// shared machine one round can land on a burst of other work.
func RunRounds(ctx context.Context, cfg Config, n int, log io.Writer) (Report, error) {
	var all []Report
	for i := range max(n, 1) {
		fmt.Fprintf(log, "--- round %d of %d\n", i+1, max(n, 1))
		rep, err := Run(ctx, cfg, log)
		if err != nil {
			return rep, fmt.Errorf("round %d: %w", i+1, err)
		}
		all = append(all, rep)
	}
	return pickMedian(all), nil
}

// pickMedian is the round with the median lookup ratio among the
// undisturbed rounds (the lower one of two), or among all when every
// round was disturbed.
func pickMedian(all []Report) Report {
	var quiet []Report
	for _, r := range all {
		if !r.Disturbed() {
			quiet = append(quiet, r)
		}
	}
	if len(quiet) == 0 {
		quiet = slices.Clone(all)
	}
	slices.SortStableFunc(quiet, func(a, b Report) int { return cmp.Compare(a.LookupRatio(), b.LookupRatio()) })
	median := quiet[(len(quiet)-1)/2]
	if len(all) > 1 {
		median.Rounds, median.MedianOf = all, len(quiet)
	}
	return median
}

// Run starts Redis, runs redis-benchmark, starts the registry on that
// Redis, measures lookups and registrations with wrk, and stops what it
// started.
func Run(ctx context.Context, cfg Config, log io.Writer) (Report, error) {
	rep := Report{Config: cfg, Start: time.Now(), Machine: host.Machine(), CPUs: runtime.NumCPU(), RedisVersion: version(ctx, cfg.RedisServer, "--version"),
		WrkVersion: wrk.Version(ctx, cfg.Wrk), LoadBefore: host.Loadavg()}
	redisPort, err := freeport.Port()
	if err != nil {
		return rep, err
	}
	redisAddr := "127.0.0.1:" + strconv.Itoa(redisPort)
	redis, err := start(cfg, "redis", nil, cfg.RedisServer,
		"--port", strconv.Itoa(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--protected-mode", "no", "--daemonize", "no", "--dir", cfg.WorkDir)
	if err != nil {
		return rep, err
	}
	defer redis.Stop(stopGrace)
	redisPID := redis.Pid()
	if err := redis.Until(10*time.Second, func() error { return ping(ctx, redisAddr) }); err != nil {
		return rep, fmt.Errorf("redis-server on %s: %w", redisAddr, err)
	}

	fmt.Fprintf(log, "redis-benchmark -t get,set -n %d -c %d -P 1 on %s\n", cfg.RedisRequests, cfg.Concurrency, redisAddr)
	results, err := redisBenchmark(ctx, cfg, redisPort, redisPID)
	if err != nil {
		return rep, err
	}
	for _, r := range results {
		switch r.Test {
		case "GET":
			rep.RedisGET = r
		case "SET":
			rep.RedisSET = r
		}
	}
	if rep.RedisGET.RPS == 0 || rep.RedisSET.RPS == 0 {
		return rep, fmt.Errorf("redis-benchmark: no GET or SET result in %+v", results)
	}
	fmt.Fprintf(log, "redis GET %.0f req/s p99 %s; SET %.0f req/s p99 %s; CPU/request: redis-benchmark %s, redis %s; other CPU %s\n",
		rep.RedisGET.RPS, rep.RedisGET.P99, rep.RedisSET.RPS, rep.RedisSET.P99, rep.RedisGET.LoadGenCPU, rep.RedisGET.RedisCPU,
		rep.RedisGET.OtherCPU)

	redisURL := "redis://" + redisAddr
	if cfg.RedisQuery != "" {
		redisURL += "?" + cfg.RedisQuery
	}
	startRegistry := func(name string, env ...string) (string, int, func(), error) {
		addr, err := freeport.Addr()
		if err != nil {
			return "", 0, nil, err
		}
		reg, err := start(cfg, name, append(append([]string{
			"REGISTRY_ADDR=" + addr, "REDIS_URL=" + redisURL, "REGISTRY_TTL=600s", "LOG_LEVEL=warn",
		}, cfg.RegistryEnv...), env...), cfg.Registry)
		if err != nil {
			return "", 0, nil, err
		}
		if err := reg.Until(10*time.Second, poll.Status("http://"+addr+"/health", http.StatusOK, `"healthy"`)); err != nil {
			reg.Stop(stopGrace)
			return "", 0, nil, fmt.Errorf("%s on %s: %w (log in %s)", name, addr, err, cfg.WorkDir)
		}
		return addr, reg.Pid(), func() { reg.Stop(stopGrace) }, nil
	}
	regAddr, regPID, stopReg, err := startRegistry("registry")
	if err != nil {
		return rep, err
	}
	defer stopReg()
	if err := preRegister(ctx, regAddr, cfg.Services); err != nil {
		return rep, err
	}

	lookups := make([]wrk.Request, cfg.Services)
	for i := range lookups {
		lookups[i] = wrk.Request{Method: http.MethodGet, Path: "/services/" + serviceName(i)}
	}
	registers := make([]wrk.Request, cfg.Instances)
	for i := range registers {
		registers[i] = wrk.Request{Method: http.MethodPost, Path: "/register", Body: registerBody(i%cfg.Services, i)}
	}
	heartbeats := make([]wrk.Request, cfg.Services)
	for i := range heartbeats {
		heartbeats[i] = wrk.Request{Method: http.MethodPost, Path: "/heartbeat", Body: []byte(
			`{"service_name":"` + serviceName(i) + `","instance_id":"` + instanceID(i) + `"}`)}
	}
	scripts := map[string][]wrk.Request{"lookup": lookups, "register": registers, "heartbeat": heartbeats}

	// Lookups run while each service has its one pre-registered instance;
	// the register runs then add instances to every service.
	type run struct {
		name   string
		addr   string
		pid    int
		conns  int
		script []wrk.Request
		d      time.Duration
		into   *Result
	}
	c := cfg.Concurrency
	runs := []run{
		{"warm-up", regAddr, regPID, c, scripts["lookup"], cfg.Warmup, &rep.LookupWarm},
		{"lookup", regAddr, regPID, c, scripts["lookup"], cfg.Duration, &rep.Lookup},
	}
	rep.LookupSweep = make([]Result, len(cfg.Sweep))
	rep.RegisterSweep = make([]Result, len(cfg.Sweep))
	for i, n := range cfg.Sweep {
		runs = append(runs, run{"lookup", regAddr, regPID, n, scripts["lookup"], cfg.SweepDuration, &rep.LookupSweep[i]})
	}
	runs = append(runs, run{"register", regAddr, regPID, c, scripts["register"], cfg.Duration, &rep.Register})
	for i, n := range cfg.Sweep {
		runs = append(runs, run{"register", regAddr, regPID, n, scripts["register"], cfg.SweepDuration, &rep.RegisterSweep[i]})
	}
	runs = append(runs, run{"heartbeat", regAddr, regPID, c, scripts["heartbeat"], cfg.Duration, &rep.Heartbeat})
	for _, r := range runs {
		if r.conns <= 0 || r.d <= 0 {
			continue
		}
		res, err := runWrk(ctx, cfg.Wrk, cfg.WorkDir, r.script, r.addr, r.conns, r.d, r.pid, redisPID)
		if ctx.Err() != nil {
			// Cut short (a signal): the numbers would be partial.
			return rep, fmt.Errorf("interrupted during %s: %w", r.name, ctx.Err())
		}
		if err != nil {
			return rep, fmt.Errorf("%s: %w", r.name, err)
		}
		fmt.Fprintf(log, "%-14s %s\n", r.name, res)
		if res.TooManyErrors() {
			return rep, fmt.Errorf("%s at %d connections: %s errors in %d requests; registry log in %s",
				r.name, r.conns, res.ErrorText(), res.Requests, cfg.WorkDir)
		}
		*r.into = res
	}
	if cfg.Watchers > 0 {
		if rep.Watch, err = watch(ctx, cfg, regAddr, regPID, log); err != nil {
			return rep, fmt.Errorf("watchers: %w", err)
		}
	}
	rep.LoadAfter = host.Loadavg()
	return rep, nil
}

func serviceName(i int) string { return fmt.Sprintf("bench_service_%03d", i) }

func instanceID(i int) string { return fmt.Sprintf("bench-%05d", i) }

func registerBody(service, instance int) []byte {
	return fmt.Appendf(nil, `{"service_name":%q,"instance_id":%q,"endpoint":"http://%s:8080",`+
		`"health_endpoint":"/health","metadata":{"version":"1.0.0","status":"healthy"}}`,
		serviceName(service), instanceID(instance), instanceID(instance))
}

// preRegister gives every service one instance, instanceID(i) for service
// i, which the heartbeat run renews.
func preRegister(ctx context.Context, addr string, n int) error {
	client := &http.Client{Timeout: 5 * time.Second}
	for i := range n {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/register",
			strings.NewReader(string(registerBody(i, i))))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
			return fmt.Errorf("pre-register %s: %s", serviceName(i), resp.Status)
		}
	}
	return nil
}

// redisBenchmark runs redis-benchmark with --csv, whose columns (Redis 7)
// are test, rps, avg, min, p50, p95, p99, max (milliseconds).
// It also measures redis-benchmark's and Redis's (pid redisPID) CPU per
// request over the whole run.
func redisBenchmark(ctx context.Context, cfg Config, port, redisPID int) ([]RedisResult, error) {
	cmd := exec.CommandContext(ctx, cfg.RedisBenchmark, "-h", "127.0.0.1", "-p", strconv.Itoa(port),
		"-t", "get,set", "-n", strconv.Itoa(cfg.RedisRequests), "-c", strconv.Itoa(cfg.Concurrency),
		"-P", "1", "--csv")
	before, busyBefore, t0 := host.ProcessCPU(redisPID), host.MachineBusy(), time.Now()
	out, err := cmd.Output()
	redisCPU, busy, elapsed := host.ProcessCPU(redisPID)-before, host.MachineBusy()-busyBefore, time.Since(t0)
	if err != nil {
		return nil, fmt.Errorf("redis-benchmark: %w", err)
	}
	res, err := parseCSV(string(out))
	if err != nil {
		return nil, err
	}
	if n := time.Duration(len(res) * cfg.RedisRequests); n > 0 {
		gen := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		for i := range res {
			res[i].LoadGenCPU, res[i].RedisCPU = gen/n, redisCPU/n
			res[i].OtherCPU, res[i].Elapsed = max(0, busy-gen-redisCPU), elapsed
		}
	}
	return res, nil
}

func parseCSV(out string) ([]RedisResult, error) {
	var res []RedisResult
	var cols map[string]int
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Split(strings.ReplaceAll(strings.TrimSpace(sc.Text()), `"`, ""), ",")
		if len(f) < 2 {
			continue
		}
		if f[0] == "test" {
			cols = map[string]int{}
			for i, name := range f {
				cols[name] = i
			}
			continue
		}
		r := RedisResult{Test: f[0]}
		r.RPS, _ = strconv.ParseFloat(f[1], 64)
		ms := func(col string) time.Duration {
			i, ok := cols[col]
			if !ok || i >= len(f) {
				return 0
			}
			v, _ := strconv.ParseFloat(f[i], 64)
			return time.Duration(v * float64(time.Millisecond))
		}
		r.P50, r.P99 = ms("p50_latency_ms"), ms("p99_latency_ms")
		res = append(res, r)
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("redis-benchmark output not understood:\n%s", out)
	}
	return res, nil
}

// stopGrace is how long a server has to exit after SIGTERM.
const stopGrace = 10 * time.Second

// start runs a server with its output in WorkDir/<name>.log and env added
// to this process's environment.
func start(cfg Config, name string, env []string, bin string, args ...string) (*proc.Process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	return proc.Start(name, cmd, filepath.Join(cfg.WorkDir, name+".log"))
}

// ping asks Redis at addr for PONG.
func ping(ctx context.Context, addr string) error {
	c := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

// version is the first line bin prints for flag, or "unknown".
func version(ctx context.Context, bin, flag string) string {
	out, _ := exec.CommandContext(ctx, bin, flag).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	line, _, _ = strings.Cut(line, " Copyright")
	if line == "" {
		return "unknown"
	}
	return strings.TrimSpace(line)
}
