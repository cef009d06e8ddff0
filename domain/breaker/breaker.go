// Package breaker is a circuit breaker policy: closed → open after N
// consecutive failures → half-open after an interval, where one probe
// decides between closed and open again. Time is always an argument, so
// tests drive it with a fake clock and never sleep.
package breaker

import (
	"errors"
	"sync"
	"time"
)

// ErrOpen is returned by Allow while the breaker rejects calls.
var ErrOpen = errors.New("breaker: open")

// State values match the seed's redis_circuit_breaker_state gauge.
type State int

// The three states, numbered as the seed's gauge exports them.
const (
	Closed   State = 0
	Open     State = 1
	HalfOpen State = 2
)

func (s State) String() string {
	switch s {
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	default:
		return "closed"
	}
}

// The defaults of the v1 API's breakers: 3 failures in a row open one for
// 30 s.
const (
	DefaultFailures = 3
	DefaultOpenFor  = 30 * time.Second
)

// Settings tune a breaker. Zero values mean the defaults.
type Settings struct {
	// Failures is how many consecutive failures open the breaker; zero
	// means DefaultFailures.
	Failures int
	// OpenFor is how long the breaker stays open before a probe; zero
	// means DefaultOpenFor.
	OpenFor time.Duration
}

// WithDefaults spells out what the zero values mean.
func (s Settings) WithDefaults() Settings {
	if s.Failures <= 0 {
		s.Failures = DefaultFailures
	}
	if s.OpenFor <= 0 {
		s.OpenFor = DefaultOpenFor
	}
	return s
}

// Breaker is safe for concurrent use. Build it with New.
type Breaker struct {
	settings Settings
	mu       sync.Mutex
	state    State
	failures int
	since    time.Time // when the breaker opened, or when the current probe started
}

// New returns a closed breaker.
func New(s Settings) *Breaker { return &Breaker{settings: s.WithDefaults()} }

// Allow says whether a call may go ahead at now. In half-open it lets one
// probe through; if that probe never reports, another is let through after
// OpenFor, so a lost result cannot wedge the breaker.
func (b *Breaker) Allow(now time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Closed:
		return nil
	case Open:
		if now.Sub(b.since) < b.settings.OpenFor {
			return ErrOpen
		}
		b.state, b.since = HalfOpen, now
		return nil
	default: // HalfOpen: a probe is in flight
		if now.Sub(b.since) < b.settings.OpenFor {
			return ErrOpen
		}
		b.since = now
		return nil
	}
}

// Success records a call that worked: the breaker closes.
func (b *Breaker) Success(time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.state, b.failures = Closed, 0
}

// Failure records a call that failed. It opens the breaker after Failures in
// a row, or at once when the failed call was the half-open probe.
func (b *Breaker) Failure(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	if b.state == HalfOpen || b.failures >= b.settings.Failures {
		b.state, b.since = Open, now
	}
}

// RetryIn says how long after now the breaker lets the next call through:
// zero while closed, the rest of the open interval while open, and the
// rest of the probe's interval while a probe is in flight.
func (b *Breaker) RetryIn(now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == Closed {
		return 0
	}
	return max(0, b.settings.OpenFor-now.Sub(b.since))
}

// State reports the state at now; an open breaker whose interval has passed
// reads as half-open, since the next call will probe.
func (b *Breaker) State(now time.Time) State {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == Open && now.Sub(b.since) >= b.settings.OpenFor {
		return HalfOpen
	}
	return b.state
}
