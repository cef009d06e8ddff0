package gatewaybench

import (
	"testing"
	"time"
)

const sample = `Running 10s test @ http://127.0.0.1:8000/v2/bench_service/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.51ms  320.20us   9.83ms   86.10%
    Req/Sec    33.26k     1.02k   35.01k    72.00%
  Latency Distribution
     50%    1.46ms
     75%    1.62ms
     90%    1.85ms
     99%    2.54ms
  331029 requests in 10.00s, 40.73MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  33097.31
Transfer/sec:      4.07MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(sample)
	if err != nil {
		t.Fatal(err)
	}
	if r.RPS != 33097.31 || r.P50 != 1460*time.Microsecond || r.P99 != 2540*time.Microsecond || r.Errors != 7 {
		t.Fatalf("parsed %+v", r)
	}
	if _, err := parseWrk("garbage"); err == nil {
		t.Fatal("want an error for output without numbers")
	}
}

func TestParseWrkDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"812.00us": 812 * time.Microsecond, "2.00s": 2 * time.Second, "1.5ms": 1500 * time.Microsecond} {
		if got, err := parseWrkDuration(in); err != nil || got != want {
			t.Errorf("%s → %v %v, want %v", in, got, err, want)
		}
	}
}
