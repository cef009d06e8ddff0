package registrybench

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vertice/vertice/internal/loadgen"
)

// Goals from the issue: lookups at least half of redis-benchmark's GET
// rate with p99 ≤ 2 ms; register p99 ≤ 5 ms.
const (
	GoalLookupRatio = 0.5
	GoalLookupP99   = 2 * time.Millisecond
	GoalRegisterP99 = 5 * time.Millisecond
)

// LookupRatio is lookup req/s over redis-benchmark GET req/s.
func (r Report) LookupRatio() float64 {
	if r.RedisGET.RPS == 0 {
		return 0
	}
	return r.Lookup.RPS / r.RedisGET.RPS
}

// RegisterRatio is register req/s over redis-benchmark SET req/s.
func (r Report) RegisterRatio() float64 {
	if r.RedisSET.RPS == 0 {
		return 0
	}
	return r.Register.RPS / r.RedisSET.RPS
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// Table is the numbers as a Markdown table.
func (r Report) Table() string {
	var b strings.Builder
	b.WriteString("| workload | connections | requests/s | p50 | p99 | vs redis-benchmark | errors |\n|---|---|---|---|---|---|---|\n")
	c := r.Concurrency
	fmt.Fprintf(&b, "| redis-benchmark GET | %d | %.0f | %s | %s | 1 | – |\n", c, r.RedisGET.RPS, ms(r.RedisGET.P50), ms(r.RedisGET.P99))
	fmt.Fprintf(&b, "| redis-benchmark SET | %d | %.0f | %s | %s | 1 | – |\n", c, r.RedisSET.RPS, ms(r.RedisSET.P50), ms(r.RedisSET.P99))
	row := func(name string, conns int, res loadgen.Result, vs string) {
		errs := strconv.Itoa(res.Errors)
		if res.Errors > 0 {
			errs += " (" + res.FirstError + ")"
		}
		fmt.Fprintf(&b, "| %s | %d | %.0f | %s | %s | %s | %s |\n", name, conns, res.RPS, ms(res.P50), ms(res.P99), vs, errs)
	}
	row("registry GET /services/{name}", c, r.Lookup, fmt.Sprintf("**%.2f× GET**", r.LookupRatio()))
	row("registry POST /register", c, r.Register, fmt.Sprintf("%.2f× SET", r.RegisterRatio()))
	row("registry POST /heartbeat", c, r.Heartbeat, fmt.Sprintf("%.2f× SET", r.Heartbeat.RPS/r.RedisSET.RPS))
	if r.LookupCacheTTL > 0 {
		row(fmt.Sprintf("registry GET /services/{name}, LOOKUP_CACHE_TTL=%s", r.LookupCacheTTL), c, r.CachedLookup,
			fmt.Sprintf("%.2f× GET", r.CachedLookup.RPS/r.RedisGET.RPS))
	}
	if r.LightConns > 0 {
		row("registry GET /services/{name}", r.LightConns, r.LightLookup, "light load")
		row("registry POST /register", r.LightConns, r.LightRegister, "light load")
	}
	return b.String()
}

// Goals lists each goal with the measured value.
func (r Report) Goals() string {
	return fmt.Sprintf("- lookup ≥ %.1f× redis-benchmark GET: %.2f× (%s)\n- lookup p99 ≤ %s: %s (%s)\n- register p99 ≤ %s: %s (%s)\n",
		GoalLookupRatio, r.LookupRatio(), verdict(r.LookupRatio() >= GoalLookupRatio),
		ms(GoalLookupP99), ms(r.Lookup.P99), verdict(r.Lookup.P99 <= GoalLookupP99),
		ms(GoalRegisterP99), ms(r.Register.P99), verdict(r.Register.P99 <= GoalRegisterP99))
}

// Markdown is docs/bench-registry.md.
func (r Report) Markdown() string {
	var b strings.Builder
	b.WriteString("# Registry benchmark: HTTP API on Redis vs redis-benchmark\n\n")
	b.WriteString("Reproduce with `go tool mage bench:registry` (writes this file).\n\n")
	fmt.Fprintf(&b, "- date: %s\n- machine: %s; load average %s before, %s after\n"+
		"- Redis: %s, a local process on 127.0.0.1 (no persistence)\n",
		r.Start.UTC().Format("2006-01-02 15:04 MST"), r.Machine, r.LoadBefore, r.LoadAfter, r.RedisVersion)
	fmt.Fprintf(&b, "- redis-benchmark: `-t get,set -n %d -c %d -P 1`\n", r.RedisRequests, r.Concurrency)
	fmt.Fprintf(&b, "- registry: bin/vertice-registry on REDIS_URL to that Redis, through its real HTTP server; "+
		"%d services registered first; load from `internal/loadgen` with %d keep-alive connections, one request "+
		"at a time each, %s warm-up, then per workload %s or %d requests, whichever ends first\n",
		r.Services, r.Concurrency, r.Warmup, r.Duration, r.MaxRequests)
	fmt.Fprintf(&b, "- register cycles through %d instances of those services (new ones first, then replacements); "+
		"heartbeat renews each service's instance in turn\n", r.Instances)
	if r.RedisQuery != "" || len(r.RegistryEnv) > 0 {
		fmt.Fprintf(&b, "- non-default settings: REDIS_URL query `%s`, registry environment `%s`\n",
			r.RedisQuery, strings.Join(r.RegistryEnv, " "))
	}
	b.WriteString("- everything (Redis, registry, load generator, redis-benchmark) shares the machine's CPUs; nothing is pinned\n")
	if len(r.Rounds) > 1 {
		fmt.Fprintf(&b, "- %d rounds, each with its own Redis and registries; the table is the round with the median "+
			"lookup ratio (round by round: %s)\n", len(r.Rounds), r.roundSummary())
	}
	b.WriteString("\n")
	b.WriteString(r.Table())
	b.WriteString("\nGoals from issue 3, as measured:\n\n")
	b.WriteString(r.Goals())
	b.WriteString(r.reading())
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
		"RESP exchange. Profiles of the lookup path show about 40 % of the registry's CPU in read/write system " +
		"calls, most of them net/http's (one read and one write per request, plus its background read). " +
		"Redis runs on one thread; the registry uses every core, so the ratio depends on the core count: here " +
		"Redis, the registry and both load generators share the machine's CPUs.\n")
	if r.Lookup.RPS > 0 {
		fmt.Fprintf(&b, "- With %d connections each waiting for its answer, mean latency is connections ÷ throughput "+
			"(Little's law): %d ÷ %.0f/s = %s for lookups, %d ÷ %.0f/s = %s for redis-benchmark GET. A p99 under "+
			"2 ms at %d connections therefore needs ≳ %.0f lookups/s; the light-load rows show the latency a "+
			"lookup or register adds when the machine is not saturated.\n",
			r.Concurrency, r.Concurrency, r.Lookup.RPS, ms(meanOf(r.Concurrency, r.Lookup.RPS)),
			r.Concurrency, r.RedisGET.RPS, ms(meanOf(r.Concurrency, r.RedisGET.RPS)),
			r.Concurrency, float64(r.Concurrency)/0.002)
	}
	if r.LookupCacheTTL > 0 && r.CachedLookup.RPS > 0 {
		fmt.Fprintf(&b, "- LOOKUP_CACHE_TTL=%s (off by default) answers lookups from a read of Redis at most that "+
			"old, with no Redis round trip: %.2f× GET here. Other replicas' writes then show up to that late on "+
			"this one (its own writes at once); the gateway already caches lookups for CACHE_TTL (5 s).\n",
			r.LookupCacheTTL, r.CachedLookup.RPS/r.RedisGET.RPS)
	}
	return b.String()
}

func meanOf(conns int, rps float64) time.Duration {
	if rps <= 0 {
		return 0
	}
	return time.Duration(float64(conns) / rps * float64(time.Second))
}

// roundSummary lists each round's lookup ratio and p99s.
func (r Report) roundSummary() string {
	parts := make([]string, len(r.Rounds))
	for i, x := range r.Rounds {
		parts[i] = fmt.Sprintf("%.2f× GET, lookup p99 %s, register p99 %s", x.LookupRatio(), ms(x.Lookup.P99), ms(x.Register.P99))
	}
	return strings.Join(parts, "; ")
}
