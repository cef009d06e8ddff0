// Package wrk reads the report of wrk (Debian's wrk 4.1, run with
// --latency), the load generator of bench:gateway and bench:registry.
package wrk

import (
	"bufio"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Report is one run as wrk prints it.
type Report struct {
	Requests int // answered, any status
	Elapsed  time.Duration
	RPS      float64 // answered requests per second (wrk's Requests/sec)
	P50, P75 time.Duration
	P90, P99 time.Duration
	Non2xx   int // answers with a status outside 2xx and 3xx
	// Socket errors as wrk counts them; a timeout is a request not answered
	// within wrk's --timeout, absent from the latencies.
	Connect, Read, Write, Timeout int
}

// Errors counts failed requests: non-2xx/3xx answers and socket errors.
func (r Report) Errors() int { return r.Non2xx + r.Connect + r.Read + r.Write + r.Timeout }

// ErrorText describes the errors for the report, "0" when there were none.
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
// its requests failed (a rare 503, a Redis call over REDIS_TIMEOUT on a
// busy machine, is part of the result and shown in the table), or nothing
// was answered at all.
func (r Report) TooManyErrors() bool {
	return r.Requests == 0 || r.Errors()*100 > r.Requests+r.Connect+r.Read+r.Write+r.Timeout
}

var (
	requestsRe = regexp.MustCompile(`^\s*(\d+) requests in ([0-9.]+[a-z]+),`)
	percentRe  = regexp.MustCompile(`^\s*([0-9.]+)%\s+([0-9.]+[a-z]+)\s*$`)
	socketRe   = regexp.MustCompile(`^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)\s*$`)
	non2xxRe   = regexp.MustCompile(`^\s*Non-2xx or 3xx responses: (\d+)\s*$`)
	rpsRe      = regexp.MustCompile(`^\s*Requests/sec:\s+([0-9.]+)\s*$`)
)

// Parse reads wrk 4's report as printed with --latency. Requests/sec,
// the request count and the 50 % and 99 % latencies must be there; the
// error lines appear only when there were errors.
func Parse(out string) (Report, error) {
	var r Report
	var haveRPS, haveCount, inDist bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "Latency Distribution" {
			inDist = true
			continue
		}
		if m := percentRe.FindStringSubmatch(line); inDist && m != nil {
			d, err := ParseDuration(m[2])
			if err != nil {
				return r, err
			}
			switch m[1] {
			case "50":
				r.P50 = d
			case "75":
				r.P75 = d
			case "90":
				r.P90 = d
			case "99":
				r.P99 = d
			}
			continue
		}
		inDist = false
		if m := requestsRe.FindStringSubmatch(line); m != nil {
			r.Requests, _ = strconv.Atoi(m[1])
			d, err := ParseDuration(m[2])
			if err != nil {
				return r, err
			}
			r.Elapsed, haveCount = d, true
		} else if m := socketRe.FindStringSubmatch(line); m != nil {
			r.Connect, _ = strconv.Atoi(m[1])
			r.Read, _ = strconv.Atoi(m[2])
			r.Write, _ = strconv.Atoi(m[3])
			r.Timeout, _ = strconv.Atoi(m[4])
		} else if m := non2xxRe.FindStringSubmatch(line); m != nil {
			r.Non2xx, _ = strconv.Atoi(m[1])
		} else if m := rpsRe.FindStringSubmatch(line); m != nil {
			v, err := strconv.ParseFloat(m[1], 64)
			if err != nil {
				return r, fmt.Errorf("wrk Requests/sec %q: %w", m[1], err)
			}
			r.RPS, haveRPS = v, true
		}
	}
	switch {
	case !haveRPS || !haveCount:
		return r, fmt.Errorf("wrk output has no Requests/sec or request count:\n%s", out)
	case r.Requests > 0 && (r.P50 == 0 || r.P99 == 0):
		return r, fmt.Errorf("wrk output has no 50%%/99%% latency (run without --latency?):\n%s", out)
	}
	return r, nil
}

// ParseDuration reads wrk's times: a number and us, ms, s, m or h.
func ParseDuration(s string) (time.Duration, error) {
	i := strings.IndexFunc(s, func(c rune) bool { return c >= 'a' && c <= 'z' })
	if i <= 0 {
		return 0, fmt.Errorf("wrk time %q has no unit", s)
	}
	v, err := strconv.ParseFloat(s[:i], 64)
	if err != nil {
		return 0, fmt.Errorf("wrk time %q: %w", s, err)
	}
	unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second,
		"m": time.Minute, "h": time.Hour}[s[i:]]
	if unit == 0 {
		return 0, fmt.Errorf("wrk time %q: unknown unit", s)
	}
	return time.Duration(v * float64(unit)), nil
}
