// Package ratelimit caps each service's request rate on one gateway
// replica: a token bucket per service (golang.org/x/time/rate), filled at
// the service's rate up to its burst, one token per request. The buckets
// live in the replica's memory, so N replicas behind a load balancer allow
// N times the rate: sharing them would put a round trip to a shared store
// on every request and make that store a dependency of every route.
package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/vertice/vertice/ports"
)

// Limits of what a Limit may say.
const (
	MaxRate  = 1e6 // requests per second
	MaxBurst = 1_000_000
)

// Limit is one service's rate: Rate requests per second on average, and up
// to Burst at once after a quiet spell.
type Limit struct {
	Rate  float64
	Burst int
}

// Format is Parse's syntax, for error messages and docs.
const Format = "<requests>/<s|m|h>[,burst=<requests>] (e.g. 100/s,burst=200)"

// Parse reads "100/s", "6000/m,burst=50", "0.5/s": requests per second,
// minute or hour, and optionally the burst. Without one the burst is one
// second's worth of requests (at least 1): 100/s may take 100 at once
// after a quiet second, 6000/m likewise.
func Parse(s string) (Limit, error) {
	spec, burst, hasBurst := strings.Cut(s, ",")
	count, unit, ok := strings.Cut(strings.TrimSpace(spec), "/")
	if !ok {
		return Limit{}, fmt.Errorf("ratelimit: %q must be %s", s, Format)
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(count), 64)
	per, known := map[string]float64{"s": 1, "m": 60, "h": 3600}[strings.TrimSpace(unit)]
	switch {
	case err != nil || math.IsNaN(n) || math.IsInf(n, 0):
		return Limit{}, fmt.Errorf("ratelimit: %q: the request count must be a number, as in %s", s, Format)
	case !known:
		return Limit{}, fmt.Errorf("ratelimit: %q: the unit must be s, m or h, as in %s", s, Format)
	}
	l := Limit{Rate: n / per}
	l.Burst = max(1, int(math.Ceil(min(l.Rate, MaxBurst))))
	if hasBurst {
		key, v, _ := strings.Cut(strings.TrimSpace(burst), "=")
		b, err := strconv.Atoi(strings.TrimSpace(v))
		if strings.TrimSpace(key) != "burst" || err != nil {
			return Limit{}, fmt.Errorf("ratelimit: %q: after the comma write burst=<requests>, as in %s", s, Format)
		}
		l.Burst = b
	}
	return l, l.Validate()
}

// Validate says what is wrong with a limit.
func (l Limit) Validate() error {
	switch {
	case !(l.Rate > 0) || l.Rate > MaxRate:
		return fmt.Errorf("ratelimit: the rate must be above 0 and at most %d requests/s (got %g)", int(MaxRate), l.Rate)
	case l.Burst < 1 || l.Burst > MaxBurst:
		return fmt.Errorf("ratelimit: the burst must be from 1 to %d (got %d)", MaxBurst, l.Burst)
	}
	return nil
}

// String writes the limit back in Parse's form, per second.
func (l Limit) String() string {
	return strconv.FormatFloat(l.Rate, 'f', -1, 64) + "/s,burst=" + strconv.Itoa(l.Burst)
}

// Limiter holds one bucket per limited service. It is safe for concurrent
// use; its set of services is fixed at New, so Allow takes no lock of its
// own (each bucket has one).
type Limiter struct {
	clock   ports.Clock
	buckets map[string]*rate.Limiter
}

// New returns a limiter for limits (by service name), all buckets full.
func New(limits map[string]Limit, clock ports.Clock) (*Limiter, error) {
	l := &Limiter{clock: clock, buckets: make(map[string]*rate.Limiter, len(limits))}
	var errs []error
	for service, lim := range limits {
		if err := lim.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", service, err))
			continue
		}
		l.buckets[service] = rate.NewLimiter(rate.Limit(lim.Rate), lim.Burst)
	}
	return l, errors.Join(errs...)
}

// Allow takes a token from service's bucket. When there is none it says
// how long until there will be one; a service without a limit is always
// allowed.
func (l *Limiter) Allow(service string) (bool, time.Duration) {
	b, ok := l.buckets[service]
	if !ok {
		return true, 0
	}
	now := l.clock.Now()
	if b.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - b.TokensAt(now)
	return false, time.Duration(math.Ceil(missing / float64(b.Limit()) * float64(time.Second)))
}
