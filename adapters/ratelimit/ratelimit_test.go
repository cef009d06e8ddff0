package ratelimit_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/proxy"
	"github.com/vertice/vertice/adapters/ratelimit"
	"github.com/vertice/vertice/ports/portstest"
)

var _ proxy.Limiter = (*ratelimit.Limiter)(nil)

func TestParse(t *testing.T) {
	for in, want := range map[string]ratelimit.Limit{
		"100/s":                 {100, 100},
		"100/s,burst=200":       {100, 200},
		" 100 / s , burst = 5 ": {100, 5},
		"6000/m":                {100, 100},
		"60/h":                  {1.0 / 60, 1},
		"0.5/s":                 {0.5, 1},
		"2.5/s":                 {2.5, 3},
		"1/s,burst=1":           {1, 1},
	} {
		got, err := ratelimit.Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, rule := range map[string]string{
		"":                "must be <requests>/<s|m|h>",
		"100":             "must be <requests>/<s|m|h>",
		"x/s":             "request count must be a number",
		"NaN/s":           "request count must be a number",
		"Inf/s":           "request count must be a number",
		"100/d":           "unit must be s, m or h",
		"100/sec":         "unit must be s, m or h",
		"0/s":             "rate must be above 0",
		"-1/s":            "rate must be above 0",
		"2e6/s":           "at most",
		"100/s,burst=0":   "burst must be from 1",
		"100/s,burst=x":   "burst=<requests>",
		"100/s,bust=5":    "burst=<requests>",
		"100/s,burst=1.5": "burst=<requests>",
	} {
		if _, err := ratelimit.Parse(in); err == nil || !strings.Contains(err.Error(), rule) {
			t.Errorf("Parse(%q) err = %v, want one saying %q", in, err, rule)
		}
	}
}

func TestLimitStringParsesBack(t *testing.T) {
	l := ratelimit.Limit{Rate: 2.5, Burst: 7}
	if got, err := ratelimit.Parse(l.String()); err != nil || got != l {
		t.Fatalf("Parse(%q) = %+v, %v", l.String(), got, err)
	}
}

func TestBurstThenRefusalThenRefill(t *testing.T) {
	clock := portstest.NewFakeClock(time.Unix(1_761_311_216, 0))
	l, err := ratelimit.New(map[string]ratelimit.Limit{"nmap_service": {Rate: 2, Burst: 3}}, clock)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if ok, _ := l.Allow("nmap_service"); !ok {
			t.Fatalf("request %d of a burst of 3 refused", i)
		}
	}
	ok, wait := l.Allow("nmap_service")
	if ok || !about(wait, 500*time.Millisecond) {
		t.Fatalf("past the burst: ok %v, wait %s; want refused, 500ms (one token at 2/s)", ok, wait)
	}
	clock.Advance(499 * time.Millisecond)
	if ok, wait := l.Allow("nmap_service"); ok || !about(wait, time.Millisecond) {
		t.Fatalf("1 ms early: ok %v wait %s, want refused with 1ms to go", ok, wait)
	}
	clock.Advance(time.Millisecond)
	if ok, _ := l.Allow("nmap_service"); !ok {
		t.Fatal("refused after the bucket refilled one token")
	}
	clock.Advance(time.Hour) // refills to the burst, not beyond
	allowed := 0
	for range 10 {
		if ok, _ := l.Allow("nmap_service"); ok {
			allowed++
		}
	}
	if allowed != 3 {
		t.Fatalf("after an hour idle %d allowed at once, want the burst (3)", allowed)
	}
	for range 100 {
		if ok, _ := l.Allow("other_service"); !ok {
			t.Fatal("a service without a limit was refused")
		}
	}
}

func TestNewNamesTheServiceWithABadLimit(t *testing.T) {
	_, err := ratelimit.New(map[string]ratelimit.Limit{"nmap_service": {Rate: 0, Burst: 1}}, portstest.NewFakeClock(time.Unix(0, 0)))
	if err == nil || !strings.Contains(err.Error(), "nmap_service") {
		t.Fatalf("err = %v, want one naming nmap_service", err)
	}
}

// about: d is want, give or take the float rounding of a token count (a
// wait is rounded up, never down).
func about(d, want time.Duration) bool { return d >= want && d <= want+time.Microsecond }
