package routing

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/vertice/vertice/domain/breaker"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
)

// Errors Resolve returns; the proxy maps them to HTTP statuses.
var (
	// ErrUnknownService: the registry does not know the service (or its name
	// is invalid) and no fallback URL is configured for it.
	ErrUnknownService = errors.New("routing: unknown service")
	// ErrRegistryUnavailable: the registry cannot be asked, and there is
	// neither a fallback URL nor a recent enough answer to use instead.
	ErrRegistryUnavailable = errors.New("routing: registry unavailable")
)

// Source says where a route came from, for metrics and logs.
type Source int

// The sources of a route.
const (
	FromCache    Source = iota // a registry answer younger than CacheTTL
	FromRegistry               // asked the registry just now
	FromFallback               // the configured <SERVICE>_URL
	FromStale                  // an old registry answer: the registry is failing
)

func (s Source) String() string {
	return [...]string{"cache", "registry", "fallback", "stale"}[s]
}

// Fallback returns the configured URL for a service, if any. The gateway
// builds it from <SERVICE_NAME in upper case>_URL variables read once at
// start, so the domain never reads the environment.
type Fallback func(service string) (endpoint string, ok bool)

// RegistryTarget is the breaker target name of the registry in States.
const RegistryTarget = "registry"

// Router resolves service names to routes. It is safe for concurrent use;
// build it with New.
type Router struct {
	dir      ports.Directory
	clock    ports.Clock
	fallback Fallback
	set      Settings
	registry *breaker.Breaker

	mu       sync.RWMutex
	services map[string]*service

	// lookups shares one registry lookup among every request that missed
	// the cache for the same service at the same time, so an expiring entry
	// under load costs the registry one request, not one per client.
	lookups singleflight.Group

	// following is true while Follow has a feed answer and is waiting for
	// the next: routes are then current until the feed names them.
	following atomic.Bool
	// confirmed is when the feed last answered (Unix ns): every route was
	// current then.
	confirmed atomic.Int64
}

// resolved is what a shared lookup hands every caller.
type resolved struct {
	rt  *Route
	src Source
}

// New returns a Router over dir. fallback may be nil (no fallback URLs).
func New(dir ports.Directory, clock ports.Clock, fallback Fallback, s Settings) (*Router, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if fallback == nil {
		fallback = func(string) (string, bool) { return "", false }
	}
	s = s.withDefaults()
	return &Router{
		dir: dir, clock: clock, fallback: fallback, set: s,
		registry: breaker.New(s.Registry),
		services: map[string]*service{},
	}, nil
}

// Resolve returns the route for a service: from the cache while it is
// fresh, else from the registry (one lookup shared by concurrent callers),
// else from the fallback URL or the last answer. A cache hit takes a read
// lock and allocates nothing.
func (r *Router) Resolve(ctx context.Context, name string) (*Route, Source, error) {
	now := r.clock.Now()
	if rt := r.fresh(name, now); rt != nil {
		rt.svc.touch(now)
		return rt, FromCache, nil
	}
	if err := catalog.ValidateServiceName(name); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrUnknownService, err)
	}
	rt, src, err := r.shared(ctx, name)
	if rt != nil {
		rt.svc.touch(now)
	}
	return rt, src, err
}

func (r *Router) service(name string) *service {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.services[name]
}

// serviceFor returns the state of name, creating it on first success only,
// so requests for made-up names cannot grow the map.
func (r *Router) serviceFor(name string) *service {
	if s := r.service(name); s != nil {
		return s
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.services[name]; ok {
		return s
	}
	s := newService(name, r)
	r.services[name] = s
	return s
}

// fresh is the service's route while it may be used without asking the
// registry: while the router follows the change feed (it would have
// heard of a change), else for CacheTTL after it was last known current.
func (r *Router) fresh(name string, now time.Time) *Route {
	s := r.service(name)
	if s == nil {
		return nil
	}
	rt := s.answer.Load()
	if rt == nil {
		return nil
	}
	if r.following.Load() || now.Sub(r.current(rt)) < r.set.CacheTTL {
		return rt
	}
	return nil
}

// current is when rt was last known to match the registry: when it was
// read, or the feed's last answer if later (the feed would have named the
// service had it changed).
func (r *Router) current(rt *Route) time.Time {
	if confirmed := time.Unix(0, r.confirmed.Load()); confirmed.After(rt.fetched) {
		return confirmed
	}
	return rt.fetched
}

func (r *Router) shared(ctx context.Context, name string) (*Route, Source, error) {
	// The lookup outlives a caller whose client hung up: the others still
	// wait for it, and a cancelled call says nothing about the registry.
	lookup := context.WithoutCancel(ctx)
	ch := r.lookups.DoChan(name, func() (any, error) {
		rt, src, err := r.load(lookup, name)
		return resolved{rt, src}, err
	})
	select {
	case res := <-ch:
		v, _ := res.Val.(resolved)
		return v.rt, v.src, res.Err
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
}

// load asks the registry unless its breaker is open, and decides what to
// use when it cannot answer.
func (r *Router) load(ctx context.Context, name string) (*Route, Source, error) {
	if rt := r.fresh(name, r.clock.Now()); rt != nil { // a flight just ended
		return rt, FromCache, nil
	}
	if err := r.registry.Allow(r.clock.Now()); err != nil {
		return r.degraded(name, r.clock.Now(), err)
	}
	snap, err := r.dir.Lookup(ctx, name)
	now := r.clock.Now()
	switch {
	case err == nil:
		r.registry.Success(now)
		return r.serviceFor(name).install(snap, now), FromRegistry, nil
	case errors.Is(err, ports.ErrNotFound):
		r.registry.Success(now)
		return r.unknown(name, snap.Index, now)
	case errors.Is(err, ports.ErrBadAnswer):
		// The registry answered: one service's unusable answer must not
		// open the breaker every other service shares.
		r.registry.Success(now)
		return r.degraded(name, now, err)
	default:
		r.registry.Failure(now)
		return r.degraded(name, now, err)
	}
}

// unknown handles a registry that answered "no such service" at index: the
// fallback URL is cached like an answer, since the registry did speak. A
// route read at a later index (the service came back while this lookup
// was on its way) stands.
func (r *Router) unknown(name string, index uint64, now time.Time) (*Route, Source, error) {
	if s := r.service(name); s != nil && index > 0 {
		if rt := s.answer.Load(); rt != nil && rt.index > index {
			return rt, FromRegistry, nil
		}
	}
	if endpoint, ok := r.fallback(name); ok {
		if rt := r.serviceFor(name).fallbackRoute(endpoint, now); rt != nil {
			return rt, FromFallback, nil
		}
	}
	if s := r.service(name); s != nil {
		s.answer.Store(nil) // the service is gone; Forget drops the rest
		s.gone.Store(true)
	}
	return nil, 0, fmt.Errorf("%w: %q is not registered and %s_URL is not set", ErrUnknownService, name, upper(name))
}

// degraded serves without the registry: the operator's fallback URL first,
// as the v1 gateway does, then the last answer while it is not too old.
func (r *Router) degraded(name string, now time.Time, cause error) (*Route, Source, error) {
	if endpoint, ok := r.fallback(name); ok {
		if rt := r.serviceFor(name).fallbackRoute(endpoint, time.Time{}); rt != nil {
			return rt, FromFallback, nil
		}
	}
	if s := r.service(name); s != nil && r.set.StaleFor > 0 {
		if rt := s.answer.Load(); rt != nil && now.Sub(r.current(rt)) < r.set.StaleFor {
			return rt, FromStale, nil
		}
	}
	return nil, 0, fmt.Errorf("%w (%v) and %s_URL is not set", ErrRegistryUnavailable, cause, upper(name))
}

// States reports every breaker at now: the registry's, then one per service
// that has been routed, under the service's name.
func (r *Router) States(now time.Time, visit func(target string, st breaker.State)) {
	visit(RegistryTarget, r.registry.State(now))
	r.mu.RLock()
	defer r.mu.RUnlock()
	for name, s := range r.services {
		visit(name, s.breaker.State(now))
	}
}

// Forget drops what the router remembers about services the registry said
// it does not know, and about services not routed for Settings.ForgetAfter,
// and calls forgot with each name (so metrics can drop their series too).
// Without it the router would keep a breaker and instance health for every
// service ever routed. Callers run it now and then (the proxy does so on
// cache misses, at most once a second); a service routed again afterwards
// starts afresh.
func (r *Router) Forget(now time.Time, forgot func(service string)) {
	cutoff := int64(math.MinInt64)
	if r.set.ForgetAfter > 0 {
		cutoff = now.Add(-r.set.ForgetAfter).UnixNano()
	}
	stale := func(s *service) bool { return s.gone.Load() || s.used.Load() < cutoff }
	var names []string
	r.mu.RLock() // usually nothing is due: find that out without blocking Resolve
	for name, s := range r.services {
		if stale(s) {
			names = append(names, name)
		}
	}
	r.mu.RUnlock()
	if len(names) == 0 {
		return
	}
	forgotten := names[:0]
	r.mu.Lock()
	for _, name := range names {
		if s, ok := r.services[name]; ok && stale(s) {
			delete(r.services, name)
			forgotten = append(forgotten, name)
		}
	}
	r.mu.Unlock()
	for _, name := range forgotten {
		forgot(name)
	}
}

// RegistryState is the registry breaker's state at now (for /health).
func (r *Router) RegistryState(now time.Time) breaker.State { return r.registry.State(now) }

// Now is the router's clock, so adapters time breakers consistently.
func (r *Router) Now() time.Time { return r.clock.Now() }

// UpstreamOpenFor is how long a service's breaker stays open (Retry-After).
func (r *Router) UpstreamOpenFor() time.Duration { return r.set.Upstream.OpenFor }

func upper(name string) string {
	b := []byte(name)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
