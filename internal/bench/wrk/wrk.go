// Package wrk drives wrk (Debian's wrk 4.1), the load generator of every
// benchmark here. Each run gets a Lua script whose done() callback writes
// the result as JSON; nothing is read from wrk's text report, whose layout
// is meant for people.
//
// wrk is C and runs one thread per -t: on a 2-CPU machine the load
// generator's own CPU is taken from what it measures, so it has to cost
// about what redis-benchmark costs for a comparison to mean anything.
// Latencies are per request, from its write to the whole answer, closed
// loop over every connection.
package wrk

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Request is one HTTP request of a workload; Body, when not nil, is sent
// with Content-Type: application/json.
type Request struct {
	Method, Path string
	Body         []byte
}

// Options say what one run does. Zero values: Bin "wrk" on PATH, one
// thread, wrk's own 2 s timeout, GET of URL, not pinned, a temporary Dir.
type Options struct {
	Bin         string
	URL         string // base URL; its path is requested when Requests is empty
	Connections int    // -c, at least 1
	Threads     int    // -t
	Duration    time.Duration
	Timeout     time.Duration // --timeout, whole seconds: a request not answered by then counts as a timeout
	// Requests are sent in turn, request i of a thread being
	// Requests[i mod len(Requests)].
	Requests []Request
	// CPUs, when set, pins wrk with taskset -c CPUs.
	CPUs string
	// Dir keeps the script and its JSON result (for a failed run's
	// post-mortem); empty means a temporary folder removed afterwards.
	Dir string
}

// Validate names the option that is wrong.
func (o Options) Validate() error {
	switch {
	case o.URL == "":
		return fmt.Errorf("wrk: URL is required")
	case o.Connections < 1:
		return fmt.Errorf("wrk: Connections must be at least 1, got %d", o.Connections)
	case o.Threads < 0 || o.Threads > o.Connections:
		return fmt.Errorf("wrk: Threads must be between 0 and Connections (%d), got %d", o.Connections, o.Threads)
	case o.Duration <= 0:
		return fmt.Errorf("wrk: Duration must be positive")
	}
	for i, r := range o.Requests {
		if r.Method == "" || !strings.HasPrefix(r.Path, "/") {
			return fmt.Errorf("wrk: Requests[%d]: want a method and a path starting with /, got %q %q", i, r.Method, r.Path)
		}
	}
	return nil
}

// Report is one run, as done() saw it.
type Report struct {
	Requests int // answered, any status
	Bytes    int64
	Elapsed  time.Duration
	RPS      float64 // answered requests per second
	// Latencies of answered requests; a timed-out request is not among them.
	Min, Mean, Max     time.Duration
	P50, P75, P90, P99 time.Duration
	// Non2xx counts answers with a status of 400 or more (wrk's
	// errors.status, its "Non-2xx or 3xx responses").
	Non2xx int
	// Socket errors as wrk counts them.
	Connect, Read, Write, Timeout int
	// CPU is wrk's own user+system time.
	CPU time.Duration
}

// Errors counts failed requests: error statuses and socket errors.
func (r Report) Errors() int { return r.Non2xx + r.Connect + r.Read + r.Write + r.Timeout }

// ErrorText describes the errors for a report, "0" when there were none.
func (r Report) ErrorText() string {
	if r.Errors() == 0 {
		return "0"
	}
	var parts []string
	for _, e := range []struct {
		n    int
		name string
	}{{r.Non2xx, "non-2xx"}, {r.Connect, "connect"}, {r.Read, "read"}, {r.Write, "write"}, {r.Timeout, "timeout"}} {
		if e.n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", e.name, e.n))
		}
	}
	return fmt.Sprintf("%d (%s)", r.Errors(), strings.Join(parts, ", "))
}

// TooManyErrors says a run measured something broken: more than 1 % of
// its requests failed (a rare 503 on a busy machine is part of the result
// and shown in the tables), or nothing was answered at all.
func (r Report) TooManyErrors() bool {
	return r.Requests == 0 || r.Errors()*100 > r.Requests+r.Connect+r.Read+r.Write+r.Timeout
}

// Seconds is d in whole seconds, at least 1: wrk's -d takes integers.
func Seconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// Run runs wrk once and returns what its done() callback wrote.
func Run(ctx context.Context, o Options) (Report, error) {
	if err := o.Validate(); err != nil {
		return Report{}, err
	}
	dir := o.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "vertice-wrk-")
		if err != nil {
			return Report{}, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	f, err := os.CreateTemp(dir, "run-*.lua")
	if err != nil {
		return Report{}, err
	}
	script, result := f.Name(), strings.TrimSuffix(f.Name(), ".lua")+".json"
	_, werr := f.WriteString(Script(o.Requests, result))
	if cerr := f.Close(); werr != nil || cerr != nil {
		return Report{}, fmt.Errorf("wrk: write %s: %v %v", script, werr, cerr)
	}
	cmd := exec.CommandContext(ctx, o.bin(), o.args(script)...)
	if o.CPUs != "" {
		cmd = exec.CommandContext(ctx, "taskset", append([]string{"-c", o.CPUs, o.bin()}, o.args(script)...)...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return Report{}, fmt.Errorf("wrk %s: %w\n%s", o.URL, err, out.String())
	}
	b, err := os.ReadFile(result)
	if err != nil {
		// A wrk that stopped before done() (a bad script, a signal) says why.
		return Report{}, fmt.Errorf("wrk %s wrote no result (%w):\n%s", o.URL, err, out.String())
	}
	rep, err := parse(b)
	if err != nil {
		return Report{}, fmt.Errorf("wrk %s: %w", o.URL, err)
	}
	rep.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return rep, nil
}

func (o Options) bin() string {
	if o.Bin == "" {
		return "wrk"
	}
	return o.Bin
}

func (o Options) args(script string) []string {
	args := []string{"-t", strconv.Itoa(max(1, o.Threads)), "-c", strconv.Itoa(o.Connections),
		"-d", strconv.Itoa(Seconds(o.Duration)) + "s", "-s", script}
	if o.Timeout > 0 {
		// wrk reads --timeout in whole seconds (s, m, h), like -d.
		args = append(args, "--timeout", strconv.Itoa(Seconds(o.Timeout))+"s")
	}
	return append(args, o.URL)
}

// result is the JSON done() writes: counts, and times in microseconds.
type result struct {
	DurationUS float64 `json:"duration_us"`
	Requests   int     `json:"requests"`
	Bytes      int64   `json:"bytes"`
	Errors     struct {
		Connect int `json:"connect"`
		Read    int `json:"read"`
		Write   int `json:"write"`
		Status  int `json:"status"`
		Timeout int `json:"timeout"`
	} `json:"errors"`
	LatencyUS struct {
		Min  float64 `json:"min"`
		Mean float64 `json:"mean"`
		Max  float64 `json:"max"`
		P50  float64 `json:"p50"`
		P75  float64 `json:"p75"`
		P90  float64 `json:"p90"`
		P99  float64 `json:"p99"`
	} `json:"latency_us"`
}

func parse(b []byte) (Report, error) {
	var res result
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&res); err != nil {
		return Report{}, fmt.Errorf("result %q: %w", b, err)
	}
	if res.DurationUS <= 0 {
		return Report{}, fmt.Errorf("result %q: no duration", b)
	}
	us := func(v float64) time.Duration { return time.Duration(v * float64(time.Microsecond)) }
	l, e := res.LatencyUS, res.Errors
	return Report{
		Requests: res.Requests, Bytes: res.Bytes, Elapsed: us(res.DurationUS),
		RPS: float64(res.Requests) / (res.DurationUS / 1e6),
		Min: us(l.Min), Mean: us(l.Mean), Max: us(l.Max), P50: us(l.P50), P75: us(l.P75), P90: us(l.P90), P99: us(l.P99),
		Non2xx: e.Status, Connect: e.Connect, Read: e.Read, Write: e.Write, Timeout: e.Timeout,
	}, nil
}

// Script is the Lua script of a run: it sends reqs in turn (each thread
// counting on its own; none means wrk's own GET of the URL) and its done()
// writes the result as JSON to the file out. The requests are formatted
// once per thread, in init; wrk calls request() for each one.
func Script(reqs []Request, out string) string {
	var b strings.Builder
	b.WriteString("-- written by internal/bench/wrk for one run\n")
	fmt.Fprintf(&b, "local out = %s\n", luaString(out))
	if len(reqs) > 0 {
		b.WriteString("local specs = {\n")
		for _, r := range reqs {
			body := "nil"
			if r.Body != nil {
				body = luaString(string(r.Body))
			}
			fmt.Fprintf(&b, "  {%s, %s, %s},\n", luaString(r.Method), luaString(r.Path), body)
		}
		b.WriteString(requestFuncs)
	}
	b.WriteString(doneFunc)
	return b.String()
}

const requestFuncs = `}
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
`

// doneFunc runs once, after every thread has stopped, in wrk's setup/done
// environment: it sees only the script's top level (out), not init's work.
const doneFunc = `function done(summary, latency, requests)
  local e = summary.errors
  local f = assert(io.open(out, "w"))
  f:write(string.format('{"duration_us":%.0f,"requests":%.0f,"bytes":%.0f,' ..
    '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},' ..
    '"latency_us":{"min":%.0f,"mean":%.3f,"max":%.0f,"p50":%.0f,"p75":%.0f,"p90":%.0f,"p99":%.0f}}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90), latency:percentile(99)))
  f:close()
end
`

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

// Need finds wrk for a test: a failure under CI (.ci/run installs it), a
// skip elsewhere.
func Need(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("wrk")
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatal("wrk not on PATH: .ci/run installs Debian's wrk")
		}
		tb.Skip("wrk not on PATH (apt-get install wrk)")
	}
	return bin
}

// Bench runs wrk once inside a Go benchmark, for -benchtime when it is a
// duration (else 1 s) unless o.Duration is set, and reports per request:
// ns/op (elapsed over answered requests), allocs/op and B/op of this
// process (the server under test, when it runs in the benchmark's
// process; wrk is not in it), p99-µs and req/s. A request counts as the
// op, not b.N: wrk decides how many it sends, so the one run with b.N=1
// lasts the whole benchtime and Go asks for no more. Any failed request
// fails b.
func Bench(b *testing.B, o Options) Report {
	b.Helper()
	if o.Duration == 0 {
		o.Duration = time.Second
		if f := flag.Lookup("test.benchtime"); f != nil {
			if d, err := time.ParseDuration(f.Value.String()); err == nil {
				o.Duration = d
			}
		}
	}
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	rep, err := Run(context.Background(), o)
	b.StopTimer()
	runtime.ReadMemStats(&after)
	if err != nil {
		b.Fatal(err)
	}
	if rep.Requests == 0 || rep.Errors() > 0 {
		b.Fatalf("%d requests, errors %s", rep.Requests, rep.ErrorText())
	}
	n := float64(rep.Requests)
	b.ReportMetric(float64(rep.Elapsed.Nanoseconds())/n, "ns/op")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/op")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/op")
	b.ReportMetric(float64(rep.P99.Microseconds()), "p99-µs")
	b.ReportMetric(rep.RPS, "req/s")
	return rep
}

// Version is wrk's first line for -v (it exits 1 after printing it), or
// "unknown".
func Version(ctx context.Context, bin string) string {
	if bin == "" {
		bin = "wrk"
	}
	out, _ := exec.CommandContext(ctx, bin, "-v").CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	line, _, _ = strings.Cut(line, " Copyright")
	if line = strings.TrimSpace(line); line == "" {
		return "unknown"
	}
	return line
}
