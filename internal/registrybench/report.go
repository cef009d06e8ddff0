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
	fmt.Fprintf(&b, "- date: %s\n- machine: %s\n- Redis: %s, a local process on 127.0.0.1 (no persistence)\n",
		r.Start.UTC().Format("2006-01-02 15:04 MST"), r.Machine, r.RedisVersion)
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
	b.WriteString("- everything (Redis, registry, load generator, redis-benchmark) shares the machine's CPUs; nothing is pinned\n\n")
	b.WriteString(r.Table())
	b.WriteString("\nGoals from issue 3, as measured:\n\n")
	b.WriteString(r.Goals())
	b.WriteString("\nWhat one registry call costs in Redis round trips: a lookup is one EVALSHA " +
		"(the live instances of the service in one script); register and heartbeat are two (the service's " +
		"script, then the services index, which lives in another Cluster slot). Every registry request also " +
		"runs HTTP parsing, JSON, the breaker, the stale cache and the Prometheus middleware.\n")
	return b.String()
}
