package registrybench

import (
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/loadgen"
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

func TestMarkdownQuotesRatioAndGoals(t *testing.T) {
	r := Report{
		Config:   Config{Concurrency: 50, LightConns: 4, RedisRequests: 100000, Services: 100, Duration: 10 * time.Second},
		RedisGET: RedisResult{Test: "GET", RPS: 40000}, RedisSET: RedisResult{Test: "SET", RPS: 40000},
		Lookup:   loadgen.Result{RPS: 24000, P99: 1500 * time.Microsecond},
		Register: loadgen.Result{RPS: 10000, P99: 6 * time.Millisecond},
	}
	md := r.Markdown()
	for _, want := range []string{"go tool mage bench:registry", "**0.60× GET**", "0.25× SET",
		"lookup ≥ 0.5× redis-benchmark GET: 0.60× (met)", "register p99 ≤ 5.00 ms: 6.00 ms (NOT met)", "light load"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}
