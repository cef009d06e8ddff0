package registry

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vertice/vertice/internal/bench/wrk"
)

// Goals from the issue: lookups at least half of redis-benchmark's GET
// rate with p99 ≤ 2 ms; register p99 ≤ 5 ms.
const (
	GoalLookupRatio = 0.75
	GoalLookupP99   = 2 * time.Millisecond
	GoalRegisterP99 = 5 * time.Millisecond
)

// LookupRatio is lookup req/s over redis-benchmark GET req/s, both at
// Concurrency connections.
func (r Report) LookupRatio() float64 { return ratio(r.Lookup.RPS, r.RedisGET.RPS) }

// RegisterRatio is register req/s over redis-benchmark SET req/s.
func (r Report) RegisterRatio() float64 { return ratio(r.Register.RPS, r.RedisSET.RPS) }

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// LookupPoints is every lookup run on the main registry (the sweep and the
// Concurrency row), by connection count; RegisterPoints likewise.
func (r Report) LookupPoints() []Result   { return points(r.LookupSweep, r.Lookup) }
func (r Report) RegisterPoints() []Result { return points(r.RegisterSweep, r.Register) }

func points(sweep []Result, main Result) []Result {
	var all []Result
	for _, p := range append(slices.Clone(sweep), main) {
		if p.Requests > 0 {
			all = append(all, p)
		}
	}
	slices.SortStableFunc(all, func(a, b Result) int { return cmp.Compare(a.Conns, b.Conns) })
	return all
}

// BestUnder is the point with the highest throughput whose p99 is at most
// p99 and which had no errors at all (a timed-out request is missing from
// wrk's latencies, a 503 is a failed call); false when none qualifies.
func BestUnder(pts []Result, p99 time.Duration) (Result, bool) {
	var best Result
	found := false
	for _, p := range pts {
		if p.Requests > 0 && p.P99 > 0 && p.P99 <= p99 && p.Errors() == 0 && (!found || p.RPS > best.RPS) {
			best, found = p, true
		}
	}
	return best, found
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func us(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Microsecond)) }

func pct(x float64) string { return fmt.Sprintf("%.0f %%", 100*x) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// Table is the rows at Concurrency connections as a Markdown table.
func (r Report) Table() string {
	var b strings.Builder
	b.WriteString("| workload | connections | requests/s | p50 | p99 | vs redis-benchmark | CPU µs/request: load generator / registry / Redis | other CPU | errors |\n" +
		"|---|---|---|---|---|---|---|---|---|\n")
	c := r.Concurrency
	for _, x := range []RedisResult{r.RedisGET, r.RedisSET} {
		fmt.Fprintf(&b, "| redis-benchmark %s | %d | %.0f | %s | %s | 1 | %s / – / %s | %s | – |\n",
			x.Test, c, x.RPS, ms(x.P50), ms(x.P99), us(x.LoadGenCPU), us(x.RedisCPU), pct(x.OtherShare(r.CPUs)))
	}
	row := func(name string, res Result, vs string) {
		fmt.Fprintf(&b, "| %s | %d | %.0f | %s | %s | %s | %s / %s / %s | %s | %s |\n", name, res.Conns, res.RPS,
			ms(res.P50), ms(res.P99), vs, us(res.PerRequest(res.LoadGenCPU)), us(res.PerRequest(res.RegistryCPU)),
			us(res.PerRequest(res.RedisCPU)), pct(res.OtherShare(r.CPUs)), res.ErrorText())
	}
	row("registry GET /services/{name}", r.Lookup, fmt.Sprintf("**%.2f× GET**", r.LookupRatio()))
	row("registry POST /register", r.Register, fmt.Sprintf("%.2f× SET", r.RegisterRatio()))
	row("registry POST /heartbeat", r.Heartbeat, fmt.Sprintf("%.2f× SET", ratio(r.Heartbeat.RPS, r.RedisSET.RPS)))
	return b.String()
}

// SweepTable is lookups and registers by connection count, each p99
// marked ✓ when within its goal.
func (r Report) SweepTable() string {
	lookups, registers := r.LookupPoints(), r.RegisterPoints()
	byConns := map[int][2]*Result{}
	var conns []int
	for k, pts := range [][]Result{lookups, registers} {
		for i := range pts {
			p := &pts[i]
			e, ok := byConns[p.Conns]
			if !ok {
				conns = append(conns, p.Conns)
			}
			e[k] = p
			byConns[p.Conns] = e
		}
	}
	slices.Sort(conns)
	var b strings.Builder
	fmt.Fprintf(&b, "| connections | lookups/s | lookup p50 | lookup p99 (✓ ≤ %s) | registers/s | register p50 | register p99 (✓ ≤ %s) | other CPU: lookup / register |\n"+
		"|---|---|---|---|---|---|---|---|\n", ms(GoalLookupP99), ms(GoalRegisterP99))
	other := func(p *Result) string {
		if p == nil {
			return "–"
		}
		return pct(p.OtherShare(r.CPUs))
	}
	cell := func(p *Result, slo time.Duration) string {
		if p == nil {
			return "– | – | –"
		}
		p99 := ms(p.P99)
		if p.P99 <= slo && p.Errors() == 0 {
			p99 += " ✓"
		}
		if p.Errors() > 0 {
			p99 += ", errors " + p.ErrorText()
		}
		return fmt.Sprintf("%.0f | %s | %s", p.RPS, ms(p.P50), p99)
	}
	for _, n := range conns {
		e := byConns[n]
		fmt.Fprintf(&b, "| %d | %s | %s | %s / %s |\n", n, cell(e[0], GoalLookupP99), cell(e[1], GoalRegisterP99),
			other(e[0]), other(e[1]))
	}
	return b.String()
}

// goalLine is one goal with its measured value under one reading.
type goalLine struct {
	text string
	ok   bool
}

// goalsAt is the goal lines read at Concurrency connections.
func (r Report) goalsAt() []goalLine {
	return []goalLine{
		{fmt.Sprintf("lookup ≥ %.2g× redis-benchmark GET: %.2f×", GoalLookupRatio, r.LookupRatio()),
			r.LookupRatio() >= GoalLookupRatio},
		{fmt.Sprintf("lookup p99 ≤ %s: %s", ms(GoalLookupP99), ms(r.Lookup.P99)), r.Lookup.P99 > 0 && r.Lookup.P99 <= GoalLookupP99},
		{fmt.Sprintf("register p99 ≤ %s: %s", ms(GoalRegisterP99), ms(r.Register.P99)),
			r.Register.P99 > 0 && r.Register.P99 <= GoalRegisterP99},
	}
}

// goalsAtSLO is the goal lines read as throughput at the p99 bound.
func (r Report) goalsAtSLO() []goalLine {
	var lines []goalLine
	if p, ok := BestUnder(r.LookupPoints(), GoalLookupP99); ok {
		x := ratio(p.RPS, r.RedisGET.RPS)
		lines = append(lines, goalLine{fmt.Sprintf("lookup ≥ %.2g× redis-benchmark GET with p99 ≤ %s: %.0f/s = %.2f× GET "+
			"(at %d connections, p99 %s)", GoalLookupRatio, ms(GoalLookupP99), p.RPS, x, p.Conns, ms(p.P99)), x >= GoalLookupRatio})
	} else {
		lines = append(lines, goalLine{fmt.Sprintf("lookup ≥ %.2g× redis-benchmark GET with p99 ≤ %s: no connection count "+
			"had an error-free lookup p99 ≤ %s", GoalLookupRatio, ms(GoalLookupP99), ms(GoalLookupP99)), false})
	}
	if p, ok := BestUnder(r.RegisterPoints(), GoalRegisterP99); ok {
		lines = append(lines, goalLine{fmt.Sprintf("register p99 ≤ %s: up to %.0f/s = %.2f× SET (at %d connections, p99 %s)",
			ms(GoalRegisterP99), p.RPS, ratio(p.RPS, r.RedisSET.RPS), p.Conns, ms(p.P99)), true})
	} else {
		lines = append(lines, goalLine{fmt.Sprintf("register p99 ≤ %s: no connection count had an error-free register p99 ≤ %s",
			ms(GoalRegisterP99), ms(GoalRegisterP99)), false})
	}
	return lines
}

// Goals lists each goal under both readings with the measured values and,
// with several rounds, in how many rounds it was met.
func (r Report) Goals() string {
	var b strings.Builder
	write := func(lines []goalLine, of func(Report) []goalLine) {
		for i, l := range lines {
			fmt.Fprintf(&b, "- %s (%s", l.text, verdict(l.ok))
			if len(r.Rounds) > 1 {
				n := 0
				for _, x := range r.Rounds {
					if of(x)[i].ok {
						n++
					}
				}
				fmt.Fprintf(&b, "; met in %d of %d rounds", n, len(r.Rounds))
			}
			b.WriteString(")\n")
		}
	}
	fmt.Fprintf(&b, "Reading 1, at %d connections (redis-benchmark's setting; the rows above):\n\n", r.Concurrency)
	write(r.goalsAt(), Report.goalsAt)
	fmt.Fprintf(&b, "\nReading 2, throughput at the p99 bound: the highest throughput among the connection counts of the sweep "+
		"whose p99 is within the bound and which had no errors, against redis-benchmark at %d connections "+
		"(GET p99 %s, SET p99 %s there); the register goal sets no throughput, so it is met by any such point:\n\n",
		r.Concurrency, ms(r.RedisGET.P99), ms(r.RedisSET.P99))
	write(r.goalsAtSLO(), Report.goalsAtSLO)
	return b.String()
}

// Markdown is docs/bench-registry.md.
func (r Report) Markdown() string {
	var b strings.Builder
	b.WriteString("# Registry benchmark: HTTP API on Redis vs redis-benchmark\n\n")
	b.WriteString("Reproduce with `go tool mage bench:registry` (writes this file).\n\n")
	fmt.Fprintf(&b, "- date: %s\n- machine: %s; load average %s before, %s after (the median round's; other work on "+
		"the machine shares the CPUs and skews every number)\n"+
		"- Redis: %s, a local process on 127.0.0.1 (no persistence)\n",
		r.Start.UTC().Format("2006-01-02 15:04 MST"), r.Machine, r.LoadBefore, r.LoadAfter, r.RedisVersion)
	fmt.Fprintf(&b, "- redis-benchmark: `-t get,set -n %d -c %d -P 1`\n", r.RedisRequests, r.Concurrency)
	fmt.Fprintf(&b, "- registry: bin/vertice-registry on REDIS_URL to that Redis, through its real HTTP server; "+
		"%d services registered first; load from %s (C, `-t1 -c N --timeout 5s`, a Lua script sending "+
		"the workload's requests in turn and reporting through its done() callback): keep-alive connections, one request at a time each, like "+
		"redis-benchmark; %s lookup warm-up, then %s per row at %d connections and %s per sweep point\n",
		r.Services, r.WrkVersion, r.Warmup, time.Duration(wrk.Seconds(r.Duration))*time.Second, r.Concurrency,
		time.Duration(wrk.Seconds(r.SweepDuration))*time.Second)
	fmt.Fprintf(&b, "- register cycles through %d instances of those services (new ones first, then replacements); "+
		"heartbeat renews each service's instance in turn; lookups run first, on one instance per service\n", r.Instances)
	if r.RedisQuery != "" || len(r.RegistryEnv) > 0 {
		fmt.Fprintf(&b, "- non-default settings: REDIS_URL query `%s`, registry environment `%s`\n",
			r.RedisQuery, strings.Join(r.RegistryEnv, " "))
	}
	b.WriteString("- everything (Redis, registry, wrk, redis-benchmark) shares the machine's CPUs; nothing is pinned; " +
		"CPU per request is each process's user+system time over the run (/proc, 10 ms ticks) divided by the requests; " +
		"\"other CPU\" is the machine's busy time during the run (/proc/stat; steal time counts when the hypervisor " +
		"reports it) minus those processes', as a share of all CPUs: work in this machine that competed with the " +
		"run (the load average includes the benchmark's own processes, from the previous round too); contention on " +
		"the host outside this machine does not show there, only as more CPU per request\n")
	if len(r.Rounds) > 1 {
		fmt.Fprintf(&b, "- %d rounds, each with its own Redis and registries; every table is the round with the median "+
			"lookup ratio at %d connections among %s (round by round: %s). redis-benchmark's CPU per request does the same "+
			"work every round, so when it rises with no other CPU in this machine, the host was slower for that "+
			"round (every process's CPU per request rises with it)\n", len(r.Rounds), r.Concurrency, r.medianOf(), r.roundSummary())
	}
	fmt.Fprintf(&b, "\n## At %d connections\n\n", r.Concurrency)
	b.WriteString(r.Table())
	b.WriteString("\n## Connection sweep\n\n")
	b.WriteString(r.SweepTable())
	b.WriteString("\n## Goals from issue 3\n\n")
	fmt.Fprintf(&b, "\"lookup ≥ %.2g× redis-benchmark GET rps with p99 ≤ %s; register p99 ≤ %s\", read two ways.\n\n",
		GoalLookupRatio, ms(GoalLookupP99), ms(GoalRegisterP99))
	b.WriteString(r.Goals())
	b.WriteString(r.watchSection())
	b.WriteString(r.reading())
	return b.String()
}

// watchSection reports the idle blocking queries (issue 16's goal: at
// most 50 MB of RSS for 2,000 of them, about no CPU, and a change waking
// only its own watchers).
func (r Report) watchSection() string {
	w := r.Watch
	if w.Watchers == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n## Idle blocking queries\n\n")
	fmt.Fprintf(&b, "%d blocking lookups (`GET /services/{name}?index=<current>&wait=10m`, one connection each) spread "+
		"over %d services, held on the registry after the runs above:\n\n", w.Watchers, w.Services)
	growth := float64(w.RSSAfter-w.RSSBefore) / 1024
	fmt.Fprintf(&b, "- registry RSS %.1f MB before they connected, %.1f MB once all wait: %+.1f MB, %.1f kB per "+
		"watcher (goal ≤ 50 MB for 2,000: %s)\n", float64(w.RSSBefore)/1024, float64(w.RSSAfter)/1024, growth,
		growth*1024/float64(w.Watchers), verdict(growth <= 50*float64(w.Watchers)/2000))
	fmt.Fprintf(&b, "- registry CPU over %s with all of them waiting and nothing changing: %s (%.2f %% of one core)\n",
		w.IdleFor, w.IdleCPU, 100*w.IdleCPU.Seconds()/w.IdleFor.Seconds())
	fmt.Fprintf(&b, "- one registration to %s then woke %d of its %d watchers (the last %s after the change) and %d "+
		"watchers of other services within %s (%s)\n", serviceName(0), w.Woken, w.Expected, ms(w.Slowest), w.Others,
		WakeWindow, verdict(w.Woken == w.Expected && w.Others == 0))
	return b.String()
}

// reading explains what bounds the numbers, with this run's figures.
func (r Report) reading() string {
	var b strings.Builder
	b.WriteString("\n## Reading the numbers\n\n")
	b.WriteString("- Redis commands per registry call: a lookup, a register and a heartbeat are one EVALSHA " +
		"each (on a single node or Sentinel the register and renew scripts also update the services index; a " +
		"Cluster adds a separate ZADD in that index's slot). Concurrent calls share round trips: at most two " +
		"calls or pipelines are on the wire at once, and calls arriving meanwhile go out together as one " +
		"pipeline, so under load one write and one read carry many commands (a lone call goes out at once).\n")
	b.WriteString("- A registry lookup is two request/response exchanges on loopback (HTTP in, Redis out) plus " +
		"HTTP parsing, JSON, the breaker, the caches and the metrics middleware; a redis-benchmark GET is one " +
		"RESP exchange. Profiles of the lookup path (earlier runs) showed about 40 % of the registry's CPU in " +
		"read/write system calls, most of them net/http's (one read and one write per request, plus its " +
		"background read). Redis runs on one thread; the registry uses every core, so the ratio depends on the " +
		"core count: here Redis, the registry and the load generators share the machine's CPUs.\n")
	if r.Lookup.Requests > 0 {
		fmt.Fprintf(&b, "- CPU per request at %d connections: a lookup costs wrk %s µs, the registry %s µs and Redis "+
			"%s µs; a redis-benchmark request (GET and SET averaged) costs redis-benchmark %s µs and Redis %s µs. "+
			"Per request wrk costs %.1f× what redis-benchmark costs, and the registry %.1f× what Redis costs "+
			"per GET.\n", r.Concurrency, us(r.Lookup.PerRequest(r.Lookup.LoadGenCPU)),
			us(r.Lookup.PerRequest(r.Lookup.RegistryCPU)), us(r.Lookup.PerRequest(r.Lookup.RedisCPU)),
			us(r.RedisGET.LoadGenCPU), us(r.RedisGET.RedisCPU),
			ratio(float64(r.Lookup.PerRequest(r.Lookup.LoadGenCPU)), float64(r.RedisGET.LoadGenCPU)),
			ratio(float64(r.Lookup.PerRequest(r.Lookup.RegistryCPU)), float64(r.RedisGET.RedisCPU)))
		if total := r.Lookup.PerRequest(r.Lookup.LoadGenCPU + r.Lookup.RegistryCPU + r.Lookup.RedisCPU); total > 0 && r.CPUs > 0 {
			need := GoalLookupRatio * r.RedisGET.RPS
			busy := r.Lookup.RPS * total.Seconds() / float64(r.CPUs)
			full := time.Duration(float64(r.CPUs) / need * float64(time.Second))
			atBusy := time.Duration(float64(full) * busy)
			fmt.Fprintf(&b, "- CPU budget: a lookup costs %s µs of CPU in all (wrk, registry, Redis); at %.0f/s that keeps "+
				"%s of the %d CPUs busy. %.2g× GET (%.0f/s) needs at most %s µs in all with every CPU busy, %s µs at "+
				"this run's %s", us(total), r.Lookup.RPS, pct(busy), r.CPUs, GoalLookupRatio, need, us(full), us(atBusy), pct(busy))
			if total > atBusy {
				fmt.Fprintf(&b, ": about %s µs less per lookup than now.\n", us(total-atBusy))
			} else {
				b.WriteString(", which this run is within.\n")
			}
		}
		fmt.Fprintf(&b, "- With %d connections each waiting for its answer, mean latency is connections ÷ throughput "+
			"(Little's law): %d ÷ %.0f/s = %s for lookups, %d ÷ %.0f/s = %s for redis-benchmark GET. A p99 under "+
			"%s at %d connections therefore needs well over %.0f lookups/s; the sweep shows what throughput the "+
			"registry reaches with few enough requests in flight for the p99 bound.\n",
			r.Concurrency, r.Concurrency, r.Lookup.RPS, ms(meanOf(r.Concurrency, r.Lookup.RPS)),
			r.Concurrency, r.RedisGET.RPS, ms(meanOf(r.Concurrency, r.RedisGET.RPS)),
			ms(GoalLookupP99), r.Concurrency, float64(r.Concurrency)/GoalLookupP99.Seconds())
	}
	return b.String()
}

// medianOf says which rounds the median was taken from.
func (r Report) medianOf() string {
	if r.MedianOf == len(r.Rounds) && !r.Disturbed() {
		return fmt.Sprintf("all %d (none had more than %s other CPU)", len(r.Rounds), pct(MaxOtherShare))
	}
	if r.MedianOf == len(r.Rounds) {
		return fmt.Sprintf("all %d (every one had more than %s other CPU)", len(r.Rounds), pct(MaxOtherShare))
	}
	s := fmt.Sprintf("the %d with at most %s other CPU", r.MedianOf, pct(MaxOtherShare))
	if r.MedianOf%2 == 0 {
		s += " (the lower middle one)"
	}
	return s
}

// otherShare is the other work's share of the machine over all the
// round's registry runs.
func (r Report) otherShare() float64 {
	var other, elapsed time.Duration
	for _, p := range append(append([]Result{r.Lookup, r.Register, r.Heartbeat}, r.LookupSweep...), r.RegisterSweep...) {
		other += p.OtherCPU
		elapsed += p.Elapsed
	}
	return otherShare(other, elapsed, r.CPUs)
}

func meanOf(conns int, rps float64) time.Duration {
	if rps <= 0 {
		return 0
	}
	return time.Duration(float64(conns) / rps * float64(time.Second))
}

// roundSummary lists each round's figures under both readings.
func (r Report) roundSummary() string {
	parts := make([]string, len(r.Rounds))
	for i, x := range r.Rounds {
		s := fmt.Sprintf("%.2f× GET, lookup p99 %s, register p99 %s", x.LookupRatio(), ms(x.Lookup.P99), ms(x.Register.P99))
		if x.CPUs > 0 {
			s += fmt.Sprintf(" (redis-benchmark CPU %s µs/request; other CPU: %s during redis-benchmark, %s during the rest)",
				us(x.RedisGET.LoadGenCPU), pct(x.RedisGET.OtherShare(x.CPUs)), pct(x.otherShare()))
		}
		if p, ok := BestUnder(x.LookupPoints(), GoalLookupP99); ok {
			s += fmt.Sprintf(", best lookup within %s %.2f× GET at c=%d", ms(GoalLookupP99), ratio(p.RPS, x.RedisGET.RPS), p.Conns)
		} else {
			s += fmt.Sprintf(", no lookup within %s", ms(GoalLookupP99))
		}
		if p, ok := BestUnder(x.RegisterPoints(), GoalRegisterP99); ok {
			s += fmt.Sprintf(", best register within %s %.2f× SET at c=%d", ms(GoalRegisterP99), ratio(p.RPS, x.RedisSET.RPS), p.Conns)
		} else {
			s += fmt.Sprintf(", no register within %s", ms(GoalRegisterP99))
		}
		if x.Disturbed() {
			s += ", disturbed"
		}
		parts[i] = s
	}
	return strings.Join(parts, "; ")
}
