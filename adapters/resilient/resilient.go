// Package resilient puts a circuit breaker and a stale-read cache in front
// of any ports.Store, as the seed's registry does in front of Redis: after
// a few consecutive backend failures the breaker opens, writes fail fast
// with a Retry-After hint, and reads are answered from the last good ones
// for up to a bounded age, so gateways keep routing through a Redis outage.
package resilient

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vertice/vertice/domain/breaker"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
)

// DefaultStaleFor is the seed's "60s stale data acceptable".
const DefaultStaleFor = 60 * time.Second

// Settings tune a Store. Zero values mean the seed's defaults.
type Settings struct {
	// Breaker: zero means 3 consecutive failures open it for 30 s.
	Breaker breaker.Settings
	// StaleFor (STALE_CACHE_TTL) is the oldest a cached read may be when it
	// is served in place of a failing backend; zero means DefaultStaleFor.
	StaleFor time.Duration
	// Backend names the store in Health's reason ("redis"); empty means
	// "store".
	Backend string
	// FreshFor (LOOKUP_CACHE_TTL) lets Instances answer from a read of the
	// backend at most this old without asking it again: lookups then cost
	// no backend round trip, at the price of seeing other replicas' writes
	// up to FreshFor late (this replica's own writes patch the cache at
	// once). Zero, the default, reads the backend on every call.
	FreshFor time.Duration
}

// Validate names the field that is wrong.
func (s Settings) Validate() error {
	switch {
	case s.Breaker.Failures < 0:
		return fmt.Errorf("resilient: Breaker.Failures %d must not be negative", s.Breaker.Failures)
	case s.Breaker.OpenFor < 0:
		return fmt.Errorf("resilient: Breaker.OpenFor %v must not be negative", s.Breaker.OpenFor)
	case s.StaleFor < 0:
		return fmt.Errorf("resilient: StaleFor %v must not be negative", s.StaleFor)
	case s.FreshFor < 0:
		return fmt.Errorf("resilient: FreshFor %v must not be negative", s.FreshFor)
	}
	return nil
}

func (s Settings) withDefaults() Settings {
	if s.Breaker.Failures == 0 {
		s.Breaker.Failures = 3
	}
	if s.Breaker.OpenFor == 0 {
		s.Breaker.OpenFor = 30 * time.Second
	}
	if s.StaleFor == 0 {
		s.StaleFor = DefaultStaleFor
	}
	if s.Backend == "" {
		s.Backend = "store"
	}
	return s
}

// Store decorates a ports.Store. Build it with New; it is safe for
// concurrent use.
type Store struct {
	next     ports.Store
	clock    ports.Clock
	settings Settings
	breaker  *breaker.Breaker

	mu       sync.Mutex
	openedAt time.Time // when the breaker last opened, for Retry-After
	cache    cache
}

// New wraps next. The breaker and the cache judge time by clock.
func New(next ports.Store, clock ports.Clock, s Settings) (*Store, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s = s.withDefaults()
	return &Store{
		next: next, clock: clock, settings: s,
		breaker: breaker.New(s.Breaker),
		cache:   newCache(),
	}, nil
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
		return Degraded, s.settings.Backend + " unreachable: circuit breaker open, serving cached reads"
	case breaker.HalfOpen:
		return Degraded, s.settings.Backend + " unreachable: circuit breaker half-open, probing; serving cached reads"
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
//
// A success takes only the breaker's own lock: s.mu orders failures with
// openedAt, and a success that lands between a failure and its State
// check leaves the breaker closed, where openedAt is not read.
func (s *Store) record(ctx context.Context, err error) {
	if !errors.Is(err, ports.ErrUnavailable) {
		s.breaker.Success(s.clock.Now())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
	default:
		wasOpen := s.breaker.State(now) == breaker.Open
		s.breaker.Failure(now)
		if !wasOpen && s.breaker.State(now) == breaker.Open {
			s.openedAt = now
		}
	}
}

// unavailable wraps cause with how long until the breaker lets a call
// through again: the rest of the open interval, else one second (a probe
// is in flight, or the breaker has not opened yet).
func (s *Store) unavailable(cause error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	retry := time.Second
	if s.breaker.State(now) == breaker.Open {
		retry = max(retry, s.settings.Breaker.OpenFor-now.Sub(s.openedAt))
	}
	return &UnavailableError{Retry: retry, Backend: s.settings.Backend, Cause: cause}
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
func (s *Store) Put(ctx context.Context, in catalog.Instance) (bool, error) {
	var created bool
	err := s.guard(ctx, func(ctx context.Context) (err error) {
		created, err = s.next.Put(ctx, in)
		return err
	})
	if err == nil {
		s.cache.upsert(in)
	}
	return created, err
}

// Renew implements ports.Store.
func (s *Store) Renew(ctx context.Context, service, id string) (catalog.Instance, error) {
	var in catalog.Instance
	err := s.guard(ctx, func(ctx context.Context) (err error) {
		in, err = s.next.Renew(ctx, service, id)
		return err
	})
	if err == nil {
		s.cache.upsert(in)
	}
	return in, err
}

// Delete implements ports.Store.
func (s *Store) Delete(ctx context.Context, service, id string) (int, error) {
	var n int
	err := s.guard(ctx, func(ctx context.Context) (err error) {
		n, err = s.next.Delete(ctx, service, id)
		return err
	})
	if err == nil || errors.Is(err, ports.ErrNotFound) {
		s.cache.remove(service, id)
	}
	return n, err
}

// Instances implements ports.Store. While the backend fails it answers
// from the last good read of the service if that is at most StaleFor old.
// Cached leases are not re-checked: heartbeats cannot land during the
// outage, so judging leases would empty the registry on a schedule the
// services did nothing to deserve; StaleFor bounds the staleness instead.
//
// With FreshFor set, a read younger than FreshFor is answered from the
// cache first, minus the instances whose lease has ended since; only found
// services are cached, so an absent one is always asked for.
func (s *Store) Instances(ctx context.Context, service string) ([]catalog.Instance, error) {
	if s.settings.FreshFor > 0 {
		// The backend is healthy here, so leases are judged as it would:
		// an instance that expired since the read is not answered.
		now := s.clock.Now()
		if cached, ok := s.cache.instances(service, now.Add(-s.settings.FreshFor)); ok {
			if live := catalog.Live(cached, now); len(live) > 0 {
				return live, nil
			}
		}
	}
	var list []catalog.Instance
	err := s.guard(ctx, func(ctx context.Context) (err error) {
		list, err = s.next.Instances(ctx, service)
		return err
	})
	switch {
	case err == nil:
		s.cache.putInstances(service, list, s.clock.Now())
		return list, nil
	case errors.Is(err, ports.ErrNotFound):
		s.cache.remove(service, "")
	case errors.Is(err, ports.ErrUnavailable):
		if cached, ok := s.cache.instances(service, s.oldest()); ok {
			return cached, nil
		}
	}
	return nil, err
}

// Services implements ports.Store, with the same fallback as Instances.
func (s *Store) Services(ctx context.Context) ([]string, error) {
	var names []string
	err := s.guard(ctx, func(ctx context.Context) (err error) {
		names, err = s.next.Services(ctx)
		return err
	})
	if err == nil {
		s.cache.putServices(names, s.clock.Now())
		return names, nil
	}
	if errors.Is(err, ports.ErrUnavailable) {
		if cached, ok := s.cache.services(s.oldest()); ok {
			return cached, nil
		}
	}
	return nil, err
}

// oldest is the earliest fetch time a cached read may have to be served.
func (s *Store) oldest() time.Time { return s.clock.Now().Add(-s.settings.StaleFor) }

var _ ports.Store = (*Store)(nil)
