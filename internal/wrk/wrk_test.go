package wrk

import (
	"os"
	"strings"
	"testing"
	"time"
)

// gatewaySample is wrk's report of a bench:gateway run with socket errors
// and non-2xx answers.
const gatewaySample = `Running 10s test @ http://127.0.0.1:8000/v2/bench_service/
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

func TestParseCountsEveryError(t *testing.T) {
	r, err := Parse(gatewaySample)
	if err != nil {
		t.Fatal(err)
	}
	if r.RPS != 33097.31 || r.Requests != 331029 || r.P50 != 1460*time.Microsecond || r.P99 != 2540*time.Microsecond ||
		r.Errors() != 7 || r.ErrorText() != "7 (non-2xx 4, read 2, timeout 1)" {
		t.Fatalf("parsed %+v (%s)", r, r.ErrorText())
	}
}

func readSample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The samples are wrk 4.1 (Debian) output captured against the registry.
func TestParseSamples(t *testing.T) {
	for _, tc := range []struct {
		file      string
		want      Report
		errText   string
		tooMany   bool
		wantError bool
	}{
		{file: "wrk_register.txt", want: Report{Requests: 17565, Elapsed: 2 * time.Second, RPS: 8761.84,
			P50: 787 * time.Microsecond, P75: 1060 * time.Microsecond, P90: 1620 * time.Microsecond, P99: 4030 * time.Microsecond},
			errText: "0"},
		{file: "wrk_lookup_non2xx.txt", want: Report{Requests: 46674, Elapsed: 3010 * time.Millisecond, RPS: 15483.91,
			P50: 2670 * time.Microsecond, P75: 4030 * time.Microsecond, P90: 5800 * time.Microsecond, P99: 14120 * time.Microsecond,
			Non2xx: 15558}, errText: "15558 (non-2xx 15558)", tooMany: true},
		{file: "wrk_lookup_timeout.txt", want: Report{Requests: 16275, Elapsed: 4010 * time.Millisecond, RPS: 4058.38,
			P50: 407 * time.Microsecond, P75: 552 * time.Microsecond, P90: 745 * time.Microsecond, P99: 3150 * time.Microsecond,
			Timeout: 4}, errText: "4 (timeout 4)"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := Parse(readSample(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !durClose(got.Elapsed, tc.want.Elapsed) || !durClose(got.P50, tc.want.P50) || !durClose(got.P75, tc.want.P75) ||
				!durClose(got.P90, tc.want.P90) || !durClose(got.P99, tc.want.P99) {
				t.Errorf("times: got %+v\nwant %+v", got, tc.want)
			}
			got.Elapsed, got.P50, got.P75, got.P90, got.P99 = tc.want.Elapsed, tc.want.P50, tc.want.P75, tc.want.P90, tc.want.P99
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			if got.ErrorText() != tc.errText || got.TooManyErrors() != tc.tooMany {
				t.Errorf("errors %q, too many %v; want %q, %v", got.ErrorText(), got.TooManyErrors(), tc.errText, tc.tooMany)
			}
		})
	}
}

// durClose allows for float rounding in "2.67ms" and the like.
func durClose(a, b time.Duration) bool { return a-b < time.Microsecond && b-a < time.Microsecond }

func TestParseRejectsIncompleteOutput(t *testing.T) {
	full := readSample(t, "wrk_register.txt")
	var noLatency []string
	inDist := false
	for _, l := range strings.Split(full, "\n") {
		if strings.TrimSpace(l) == "Latency Distribution" {
			inDist = true
			continue
		}
		if inDist && strings.Contains(l, "%") {
			continue
		}
		inDist = false
		noLatency = append(noLatency, l)
	}
	for name, out := range map[string]string{
		"empty (wrk could not connect)": "",
		"no --latency":                  strings.Join(noLatency, "\n"),
		"no Requests/sec":               strings.Replace(full, "Requests/sec:", "Requests per sec:", 1),
		"bad unit":                      strings.Replace(full, "787.00us", "787.00qs", 1),
	} {
		if _, err := Parse(out); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"823.00us": 823 * time.Microsecond, "2.67ms": 2670 * time.Microsecond, "1.02s": 1020 * time.Millisecond,
		"2.00m": 2 * time.Minute, "1h": time.Hour,
	} {
		got, err := ParseDuration(in)
		if err != nil || !durClose(got, want) {
			t.Errorf("%s: %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "12", "ms", "1.2x"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("%q: want an error", in)
		}
	}
}
