package registry

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/bench/wrk"
)

func TestParseCSV(t *testing.T) {
	out := `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"SET","31635.56","0.814","0.104","0.775","1.047","2.399","5.439"
"GET","30000.00","0.806","0.168","0.783","1.015","2.111","7.655"
`
	got, err := parseCSV(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].Test != "GET" || got[1].RPS != 30000 ||
		got[1].P50 != 783*time.Microsecond || got[1].P99 != 2111*time.Microsecond {
		t.Fatalf("%+v", got)
	}
	if _, err := parseCSV("ERR connection refused\n"); err == nil {
		t.Fatal("want an error for output without results")
	}
}

// TestRunWrkMeasuresCPU runs the real wrk against a server in this
// process, named as the registry: the result carries the connection count
// and the CPU of wrk and of the "registry".
func TestRunWrkMeasuresCPU(t *testing.T) {
	wrkBin := wrk.Need(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	reqs := []wrk.Request{{Method: http.MethodPost, Path: "/register", Body: registerBody(0, 0)}}
	addr := srv.Listener.Addr().(*net.TCPAddr).String()
	res, err := runWrk(context.Background(), wrkBin, t.TempDir(), reqs, addr, 2, time.Second, os.Getpid(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Conns != 2 || res.Requests == 0 || res.Errors() != 0 || res.LoadGenCPU <= 0 || res.RegistryCPU <= 0 || res.RedisCPU != 0 {
		t.Fatalf("result %+v", res)
	}
}

func TestBestUnder(t *testing.T) {
	pts := []Result{
		{Conns: 1, Report: wrk.Report{Requests: 100, RPS: 4000, P99: 500 * time.Microsecond}},
		{Conns: 8, Report: wrk.Report{Requests: 100, RPS: 12000, P99: 1900 * time.Microsecond}},
		{Conns: 16, Report: wrk.Report{Requests: 100, RPS: 14000, P99: 1800 * time.Microsecond, Timeout: 1}}, // errors disqualify
		{Conns: 32, Report: wrk.Report{Requests: 100, RPS: 15000, P99: 3 * time.Millisecond}},
	}
	if p, ok := BestUnder(pts, 2*time.Millisecond); !ok || p.Conns != 8 {
		t.Fatalf("got %+v, %v; want the 8-connection point", p, ok)
	}
	if p, ok := BestUnder(pts, 400*time.Microsecond); ok {
		t.Fatalf("got %+v; want none under 0.4 ms", p)
	}
}

func sampleReport(lookup50P99 time.Duration, bestLookupRPS float64) Report {
	r := Report{
		CPUs: 2,
		Config: Config{Concurrency: 50, RedisRequests: 100000, Services: 100, Duration: 5 * time.Second,
			SweepDuration: 3 * time.Second, Sweep: []int{1, 8, 32}, Watchers: 2000},
		RedisGET:  RedisResult{Test: "GET", RPS: 40000, P99: time.Millisecond, LoadGenCPU: 10 * time.Microsecond, RedisCPU: 8 * time.Microsecond},
		RedisSET:  RedisResult{Test: "SET", RPS: 40000, P99: time.Millisecond},
		Lookup:    Result{Conns: 50, OtherCPU: 2500 * time.Millisecond, LoadGenCPU: 800 * time.Millisecond, RegistryCPU: 4 * time.Second, RedisCPU: 800 * time.Millisecond, Report: wrk.Report{Requests: 80000, RPS: 16000, P99: lookup50P99, Elapsed: 5 * time.Second}},
		Register:  Result{Conns: 50, Report: wrk.Report{Requests: 50000, RPS: 10000, P99: 6 * time.Millisecond}},
		Heartbeat: Result{Conns: 50, Report: wrk.Report{Requests: 50000, RPS: 11000, P99: 6 * time.Millisecond}},
		Watch: WatchResult{Watchers: 2000, Services: 100, RSSBefore: 30 << 10, RSSAfter: 62 << 10, IdleCPU: 20 * time.Millisecond,
			IdleFor: 10 * time.Second, Woken: 20, Expected: 20},
		LookupSweep: []Result{
			{Conns: 1, Report: wrk.Report{Requests: 9000, RPS: 3000, P50: 300 * time.Microsecond, P99: 600 * time.Microsecond}},
			{Conns: 8, Report: wrk.Report{Requests: 9000, RPS: bestLookupRPS, P50: 500 * time.Microsecond, P99: 1500 * time.Microsecond}},
			{Conns: 32, Report: wrk.Report{Requests: 9000, RPS: 15000, P99: 4 * time.Millisecond, Non2xx: 2}},
		},
		RegisterSweep: []Result{
			{Conns: 1, Report: wrk.Report{Requests: 9000, RPS: 2500, P99: 800 * time.Microsecond}},
			{Conns: 8, Report: wrk.Report{Requests: 9000, RPS: 9000, P99: 4 * time.Millisecond}},
			{Conns: 32, Report: wrk.Report{Requests: 9000, RPS: 9500, P99: 5500 * time.Microsecond}},
		},
	}
	return r
}

func TestMarkdownBothReadings(t *testing.T) {
	r := sampleReport(7*time.Millisecond, 32000)
	// Rounds: the goal at 50 connections is never met; the SLO reading in
	// two of three rounds.
	r.Rounds = []Report{r, sampleReport(7*time.Millisecond, 18000), r}
	md := r.Markdown()
	for _, want := range []string{
		"go tool mage bench:registry",
		"| registry GET /services/{name} | 50 | 16000 | 0.00 ms | 7.00 ms | **0.40× GET** | 10 / 50 / 10 | 25 % | 0 |",
		"| redis-benchmark GET | 50 | 40000 | 0.00 ms | 1.00 ms | 1 | 10 / – / 8 | 0 % | – |",
		"- lookup ≥ 0.75× redis-benchmark GET: 0.40× (NOT met; met in 0 of 3 rounds)",
		"- lookup p99 ≤ 2.00 ms: 7.00 ms (NOT met; met in 0 of 3 rounds)",
		"- register p99 ≤ 5.00 ms: 6.00 ms (NOT met; met in 0 of 3 rounds)",
		"- lookup ≥ 0.75× redis-benchmark GET with p99 ≤ 2.00 ms: 32000/s = 0.80× GET (at 8 connections, p99 1.50 ms) (met; met in 2 of 3 rounds)",
		"- register p99 ≤ 5.00 ms: up to 9000/s = 0.23× SET (at 8 connections, p99 4.00 ms) (met; met in 3 of 3 rounds)",
		"| 8 | 32000 | 0.50 ms | 1.50 ms ✓ | 9000 | 0.00 ms | 4.00 ms ✓ | 0 % / 0 % |",
		"| 32 | 15000 | 0.00 ms | 4.00 ms, errors 2 (non-2xx 2) | 9500 | 0.00 ms | 5.50 ms | 0 % / 0 % |",
		"| 50 | 16000 | 0.00 ms | 7.00 ms | 10000 | 0.00 ms | 6.00 ms | 25 % / 0 % |",
		"a lookup costs wrk 10 µs, the registry 50 µs and Redis 10 µs",
		"register p99 6.00 ms (redis-benchmark CPU 10 µs/request; other CPU: 0 % during redis-benchmark, 25 % during the rest)",
		"Per request wrk costs 1.0× what redis-benchmark costs, and the registry 6.2× what Redis costs",
		// 16000/s × 70 µs = 1.12 of 2 CPUs; 0.75× 40000/s needs 2 ÷ 30000 = 67 µs, 37 µs at 56 %.
		"a lookup costs 70 µs of CPU in all (wrk, registry, Redis); at 16000/s that keeps 56 % of the 2 CPUs busy",
		"0.75× GET (30000/s) needs at most 67 µs in all with every CPU busy, 37 µs at this run's 56 %: about 33 µs less per lookup than now.",
		"registry RSS 30.0 MB before they connected, 62.0 MB once all wait: +32.0 MB, 16.4 kB per watcher (goal ≤ 50 MB for 2,000: met)",
		"woke 20 of its 20 watchers",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(md)
	}
	r.Lookup.RPS = 10000 // 70 µs at 10000/s: 35 % busy, 35 µs budget
	r.RedisGET.RPS = 10000
	if md := r.Markdown(); !strings.Contains(md, "7500/s) needs at most 267 µs in all with every CPU busy, 93 µs at this run's 35 %, which this run is within.") {
		t.Errorf("within budget not said:\n%s", md)
	}
}

func TestGoalsNoPointWithinBound(t *testing.T) {
	r := sampleReport(7*time.Millisecond, 24000)
	r.LookupSweep, r.RegisterSweep = nil, nil
	g := r.Goals()
	for _, want := range []string{"no connection count had an error-free lookup p99 ≤ 2.00 ms (NOT met)",
		"no connection count had an error-free register p99 ≤ 5.00 ms (NOT met)"} {
		if !strings.Contains(g, want) {
			t.Errorf("goals lack %q:\n%s", want, g)
		}
	}
	// Meeting the goal at 50 connections.
	r.Lookup.RPS, r.Lookup.P99 = 31000, 1900*time.Microsecond
	if g := r.Goals(); !strings.Contains(g, "lookup ≥ 0.75× redis-benchmark GET: 0.78× (met)") ||
		!strings.Contains(g, "lookup p99 ≤ 2.00 ms: 1.90 ms (met)") {
		t.Errorf("goals:\n%s", g)
	}
}

func TestPickMedianSkipsDisturbedRounds(t *testing.T) {
	round := func(lookupRPS float64, other time.Duration) Report {
		r := sampleReport(7*time.Millisecond, 24000)
		r.Lookup.RPS, r.Lookup.OtherCPU = lookupRPS, other // 5 s on 2 CPUs: 1 s is 10 %
		return r
	}
	quietHigh, quietLow, busy := round(23200, 0), round(16000, time.Second), round(17200, 3*time.Second)
	got := pickMedian([]Report{quietHigh, busy, quietLow})
	if got.Lookup.RPS != 16000 || got.MedianOf != 2 || len(got.Rounds) != 3 {
		t.Fatalf("got lookup %.0f/s from %d of %d rounds; want the lower quiet one, 2 of 3", got.Lookup.RPS, got.MedianOf, len(got.Rounds))
	}
	md := got.Markdown()
	for _, want := range []string{"among the 2 with at most 10 % other CPU (the lower middle one)", ", disturbed;"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if got := pickMedian([]Report{quietHigh, quietLow, round(17200, 0)}); got.Lookup.RPS != 17200 || got.MedianOf != 3 {
		t.Errorf("all quiet: got %.0f/s of %d", got.Lookup.RPS, got.MedianOf)
	}
	if got := pickMedian([]Report{busy, round(23200, 4*time.Second), round(16000, 2*time.Second)}); got.Lookup.RPS != 17200 ||
		got.MedianOf != 3 || !strings.Contains(got.Markdown(), "all 3 (every one had more than 10 % other CPU)") {
		t.Errorf("all disturbed: got %.0f/s of %d", got.Lookup.RPS, got.MedianOf)
	}
}
