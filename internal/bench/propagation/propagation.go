// Package propagation measures how long a change in the registry takes to
// reach the gateway's routing, on a deployment like the compose files'
// (Redis, three registry replicas behind one name, demo services with
// their sidecars, gateways), in containers: from a sidecar's SIGTERM to
// the gateway's last request to its instance, from the end of a lease
// (the sidecar killed with SIGKILL) to the last request, and from a
// registration to the first request. Two gateways see the same events:
// one following the registry's change feed, one polling it every
// CACHE_TTL as the v1 gateway did. `go tool mage bench:propagation` runs
// it (BenchmarkPropagation) and writes docs/bench-propagation.md.
package propagation

import (
	"sort"
	"sync"
	"time"
)

// Kind is what a trial measures.
type Kind int

// The three measurements.
const (
	Deregistered Kind = iota // SIGTERM of a sidecar → the gateway's last request to its instance
	LeaseEnded               // the lease's end after SIGKILL of a sidecar → the last request
	Registered               // a registration → the gateway's first request to the instance
)

func (k Kind) String() string {
	return [...]string{"SIGTERM of a sidecar → last routed request",
		"lease's end after kill -9 → last routed request",
		"registration → first routed request"}[k]
}

// Log records, per gateway, when each instance answered a request routed
// through it. Safe for concurrent use.
type Log struct {
	mu   sync.Mutex
	seen map[string]map[string][]time.Time // gateway → instance → times, in order
}

// NewLog returns an empty log.
func NewLog() *Log { return &Log{seen: map[string]map[string][]time.Time{}} }

// Add records that instance answered a request through gateway at t.
func (l *Log) Add(gateway, instance string, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	byInstance := l.seen[gateway]
	if byInstance == nil {
		byInstance = map[string][]time.Time{}
		l.seen[gateway] = byInstance
	}
	byInstance[instance] = append(byInstance[instance], t)
}

// Last is the last time instance answered through gateway in (from, to),
// and whether it did at all.
func (l *Log) Last(gateway, instance string, from, to time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	times := l.seen[gateway][instance]
	i := sort.Search(len(times), func(i int) bool { return !times[i].Before(to) })
	if i == 0 || !times[i-1].After(from) {
		return time.Time{}, false
	}
	return times[i-1], true
}

// First is the first time instance answered through gateway after from.
func (l *Log) First(gateway, instance string, from time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	times := l.seen[gateway][instance]
	i := sort.Search(len(times), func(i int) bool { return times[i].After(from) })
	if i == len(times) {
		return time.Time{}, false
	}
	return times[i], true
}

// Sample is one trial's measured delay.
type Sample struct {
	Kind    Kind
	Gateway string
	Delay   time.Duration
}

// Stats summarises the samples of one kind through one gateway.
type Stats struct {
	N             int
	P50, P99, Max time.Duration
}

// Summarise computes Stats from delays (nearest-rank percentiles).
func Summarise(delays []time.Duration) Stats {
	if len(delays) == 0 {
		return Stats{}
	}
	d := append([]time.Duration(nil), delays...)
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(d))+0.999999) - 1
		return d[min(max(i, 0), len(d)-1)]
	}
	return Stats{N: len(d), P50: rank(0.50), P99: rank(0.99), Max: d[len(d)-1]}
}
