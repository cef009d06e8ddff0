// Package resilient puts a circuit breaker in front of any ports.Store, as
// the v1 API's registry does in front of Redis: after a few consecutive
// backend failures the breaker opens and calls fail fast with a
// Retry-After hint, until one probe finds the backend back. What reads
// answer meanwhile (the last good state, for up to STALE_CACHE_TTL) is the
// replica's copy of the catalog's business (adapters/mirror).
package resilient

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vertice/vertice/domain/breaker"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
)

// Settings tune a Store. Zero values mean the defaults.
type Settings struct {
	// Breaker: zero means breaker.DefaultFailures consecutive failures open
	// it for breaker.DefaultOpenFor.
	Breaker breaker.Settings
	// Backend names the store in Health's reason ("redis"); empty means
	// "store".
	Backend string
}

// Validate names the field that is wrong.
func (s Settings) Validate() error {
	switch {
	case s.Breaker.Failures < 0:
		return fmt.Errorf("resilient: Breaker.Failures %d must not be negative", s.Breaker.Failures)
	case s.Breaker.OpenFor < 0:
		return fmt.Errorf("resilient: Breaker.OpenFor %v must not be negative", s.Breaker.OpenFor)
	}
	return nil
}

// Store decorates a ports.Store. Build it with New; it is safe for
// concurrent use.
type Store struct {
	next    ports.Store
	clock   ports.Clock
	backend string
	breaker *breaker.Breaker
}

// New wraps next. The breaker judges time by clock.
func New(next ports.Store, clock ports.Clock, s Settings) (*Store, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.Backend == "" {
		s.Backend = "store"
	}
	return &Store{next: next, clock: clock, backend: s.Backend, breaker: breaker.New(s.Breaker)}, nil
}

// State is the breaker's state now, for the redis_circuit_breaker_state and
// registry_circuit_breaker_open gauges.
func (s *Store) State() breaker.State { return s.breaker.State(s.clock.Now()) }

// Health values for GET /health.
const (
	Healthy  = "healthy"
	Degraded = "degraded"
)

// Health says whether the backend is in use, and if not, why and what the
// registry does meanwhile.
func (s *Store) Health() (status, reason string) {
	switch s.State() {
	case breaker.Open:
		return Degraded, s.backend + " unreachable: circuit breaker open, serving cached reads"
	case breaker.HalfOpen:
		return Degraded, s.backend + " unreachable: circuit breaker half-open, probing; serving cached reads"
	default:
		return Healthy, ""
	}
}

// guard runs fn through the breaker. A rejected call never reaches the
// backend; a backend failure is counted and returned as *UnavailableError.
func (s *Store) guard(ctx context.Context, fn func(context.Context) error) error {
	if err := s.breaker.Allow(s.clock.Now()); err != nil {
		return s.unavailable(err)
	}
	err := fn(ctx)
	s.record(ctx, err)
	if errors.Is(err, ports.ErrUnavailable) {
		return s.unavailable(err)
	}
	return err
}

// record tells the breaker how the call went. Only ErrUnavailable is the
// backend's failure: ErrNotFound and invalid input are answers. A caller
// that cancelled its own request says nothing about the backend either.
func (s *Store) record(ctx context.Context, err error) {
	switch {
	case !errors.Is(err, ports.ErrUnavailable):
		s.breaker.Success(s.clock.Now())
	case errors.Is(ctx.Err(), context.Canceled):
	default:
		s.breaker.Failure(s.clock.Now())
	}
}

// unavailable wraps cause with how long until the breaker lets a call
// through again, at least one second (a probe may be in flight, or the
// breaker has not opened yet).
func (s *Store) unavailable(cause error) error {
	retry := max(time.Second, s.breaker.RetryIn(s.clock.Now()))
	return &UnavailableError{Retry: retry, Backend: s.backend, Cause: cause}
}

// UnavailableError is ports.ErrUnavailable with a hint of when to retry;
// the HTTP adapter turns RetryAfter into a Retry-After header.
type UnavailableError struct {
	Retry   time.Duration
	Backend string
	Cause   error // breaker.ErrOpen when the call was not attempted
}

func (e *UnavailableError) Error() string {
	if errors.Is(e.Cause, breaker.ErrOpen) {
		return fmt.Sprintf("%s unavailable: circuit breaker open, retry in %s", e.Backend, e.Retry)
	}
	return fmt.Sprintf("%s unavailable (retry in %s): %v", e.Backend, e.Retry, e.Cause)
}

// RetryAfter is how long the caller should wait before trying again.
func (e *UnavailableError) RetryAfter() time.Duration { return e.Retry }

// Unwrap makes errors.Is find both ports.ErrUnavailable and the cause.
func (e *UnavailableError) Unwrap() []error { return []error{ports.ErrUnavailable, e.Cause} }

// Put implements ports.Store.
func (s *Store) Put(ctx context.Context, in catalog.Instance) (catalog.Change, error) {
	var ch catalog.Change
	err := s.guard(ctx, func(ctx context.Context) (err error) {
		ch, err = s.next.Put(ctx, in)
		return err
	})
	return ch, err
}

// Renew implements ports.Store.
func (s *Store) Renew(ctx context.Context, service, id string) (catalog.Instance, error) {
	var in catalog.Instance
	err := s.guard(ctx, func(ctx context.Context) (err error) {
		in, err = s.next.Renew(ctx, service, id)
		return err
	})
	return in, err
}

// Delete implements ports.Store.
func (s *Store) Delete(ctx context.Context, service, id string) (catalog.Change, error) {
	var ch catalog.Change
	err := s.guard(ctx, func(ctx context.Context) (err error) {
		ch, err = s.next.Delete(ctx, service, id)
		return err
	})
	return ch, err
}

// Service implements ports.Store.
func (s *Store) Service(ctx context.Context, service string) (catalog.Service, error) {
	var snap catalog.Service
	err := s.guard(ctx, func(ctx context.Context) (err error) {
		snap, err = s.next.Service(ctx, service)
		return err
	})
	return snap, err
}

// Catalog implements ports.Store.
func (s *Store) Catalog(ctx context.Context) (catalog.Catalog, error) {
	var cat catalog.Catalog
	err := s.guard(ctx, func(ctx context.Context) (err error) {
		cat, err = s.next.Catalog(ctx)
		return err
	})
	return cat, err
}

// Reap implements ports.Reaper when the backend does, through the breaker:
// while the backend is away, reaping waits for it like everything else.
func (s *Store) Reap(ctx context.Context) error {
	r, ok := s.next.(ports.Reaper)
	if !ok {
		return nil
	}
	return s.guard(ctx, r.Reap)
}

var (
	_ ports.Store  = (*Store)(nil)
	_ ports.Reaper = (*Store)(nil)
)
