package routing

import (
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vertice/vertice/domain/breaker"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
)

// service is what the router remembers about one service across cache
// refreshes: its upstream breaker, its round-robin position and each
// instance's connection health.
type service struct {
	name    string
	router  *Router
	breaker *breaker.Breaker
	next    atomic.Uint64
	answer  atomic.Pointer[Route] // the registry's last answer
	used    atomic.Int64          // Unix nanoseconds of the last Resolve, to the second
	gone    atomic.Bool           // the registry said it does not know the service

	mu       sync.Mutex
	health   map[string]*health // by endpoint
	fallback *Route

	split   Split   // the service's version split (Settings.Versions), nil for none
	weights weights // the split's rotation
}

func newService(name string, r *Router) *service {
	s := &service{name: name, router: r, breaker: breaker.New(r.set.Upstream), health: map[string]*health{}}
	if split := r.set.Versions[name]; len(split) > 0 {
		s.split, s.weights.current = split, make([]int, len(split))
	}
	s.used.Store(r.clock.Now().UnixNano())
	return s
}

// touch records a use at now. It writes at most once a second, so the hot
// path only reads a cache line every request shares.
func (s *service) touch(now time.Time) {
	if n := now.UnixNano(); n-s.used.Load() >= int64(time.Second) {
		s.used.Store(n)
	}
}

// health is one instance's passive-ejection state, kept across refreshes.
// Atomics keep the hot path free of locks.
type health struct {
	failures     atomic.Int32
	ejectedUntil atomic.Int64 // Unix nanoseconds; 0 means in rotation
}

// Target is one upstream instance a request may be sent to.
type Target struct {
	Service    string
	InstanceID string
	// URL is the instance's endpoint, parsed once per refresh.
	URL *url.URL
	// Version is the instance's metadata.version, "" when it has none.
	Version string
	healthy bool
	health  *health
}

// Route is an immutable set of targets for one service, shared by every
// request until the next refresh.
type Route struct {
	svc     *service
	index   uint64 // the registry's index for the service (0: a fallback)
	fetched time.Time
	all     []*Target // sorted by instance ID, so round robin is stable
	healthy []*Target // the ones whose metadata does not say unhealthy

	versions map[string]*group // the targets by version ("" for none)
	split    []*group          // the split's groups that have instances; empty without a split
}

// Service is the name this route serves.
func (rt *Route) Service() string { return rt.svc.name }

// Targets returns every target, sorted by instance ID.
func (rt *Route) Targets() []*Target { return rt.all }

// install replaces the service's answer with the registry's, unless the
// answer it holds is newer (two lookups crossed: the one that started
// first may answer last). Instances whose endpoint does not parse are
// dropped; the registry validates endpoints, so that means a broken
// registry, not a user error.
func (s *service) install(snap catalog.Service, now time.Time) *Route {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.answer.Load(); old != nil && old.index > snap.Index {
		return old
	}
	kept := make(map[string]*health, len(snap.Instances))
	rt := &Route{svc: s, index: snap.Index, fetched: now}
	for _, in := range snap.Instances {
		u, err := url.Parse(in.Endpoint)
		if err != nil || u.Host == "" {
			continue
		}
		t := &Target{Service: s.name, InstanceID: in.InstanceID, URL: u, Version: in.Version(), healthy: in.Healthy(),
			health: s.healthOf(in.Endpoint)}
		kept[in.Endpoint] = t.health
		rt.all = append(rt.all, t)
	}
	s.health = kept
	sort.Slice(rt.all, func(a, b int) bool { return rt.all[a].InstanceID < rt.all[b].InstanceID })
	for _, t := range rt.all {
		if t.healthy {
			rt.healthy = append(rt.healthy, t)
		}
	}
	rt.group(s.split)
	s.answer.Store(rt)
	s.gone.Store(false)
	return rt
}

// healthOf returns the health of endpoint, new if unseen. Callers hold mu.
func (s *service) healthOf(endpoint string) *health {
	if h, ok := s.health[endpoint]; ok {
		return h
	}
	return &health{}
}

// fallbackRoute returns the one-target route to endpoint, built once. With
// a non-zero now it is also stored as the service's answer (the registry
// said "unknown", which is an answer worth caching); otherwise it is used
// only while the registry cannot be asked.
func (s *service) fallbackRoute(endpoint string, now time.Time) *Route {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fallback == nil || s.fallback.all[0].URL.String() != endpoint {
		u, err := url.Parse(endpoint)
		if err != nil || u.Host == "" {
			return nil
		}
		t := &Target{Service: s.name, InstanceID: "fallback", URL: u, healthy: true, health: &health{}}
		s.fallback = &Route{svc: s, all: []*Target{t}, healthy: []*Target{t}}
		s.fallback.group(s.split)
	}
	if now.IsZero() {
		return s.fallback
	}
	rt := *s.fallback
	rt.fetched = now
	s.answer.Store(&rt)
	return &rt
}

// Pick chooses the next target, skipping those in tried (the proxy's
// earlier attempts for this request). With a version split (Split), it
// first chooses a version by weight among those with a healthy, in-rotation
// target not tried yet, and a target of it round robin. Without one, or
// when no version of the split has such a target left, it goes round robin
// over every instance, preferring, in order: healthy and in rotation; in
// rotation; healthy; any. So an unhealthy or ejected instance gets traffic
// only when nothing better is left, a canary that went away leaves its
// share to the other versions, and when every instance is ejected they are
// all tried anyway rather than failing the service outright. It returns
// nil when every target was tried.
func (rt *Route) Pick(tried []*Target) *Target {
	c := lazyNow{clock: rt.svc.router.clock}
	if len(rt.split) > 0 {
		if g := rt.svc.weights.choose(rt.split, tried, &c); g != nil {
			// nil only if g's last target was ejected since choose saw it
			if t := scan(g.healthy, g.next.Add(1)-1, tried, &c, true); t != nil {
				return t
			}
		}
	}
	return prefer(rt.healthy, rt.all, rt.svc.next.Add(1)-1, tried, &c)
}

// prefer goes round robin from start over healthy (a subset of all) and
// all, preferring healthy and in rotation; in rotation; healthy; any.
func prefer(healthy, all []*Target, start uint64, tried []*Target, c *lazyNow) *Target {
	if t := scan(healthy, start, tried, c, true); t != nil {
		return t
	}
	if t := scan(all, start, tried, c, true); t != nil {
		return t
	}
	if t := scan(healthy, start, tried, c, false); t != nil {
		return t
	}
	return scan(all, start, tried, c, false)
}

// lazyNow reads the clock once, and only when an ejection is to be judged:
// on the usual path no instance has ever been ejected and Pick reads no
// time at all (a clock read costs about as much as the rest of Pick).
type lazyNow struct {
	clock ports.Clock
	now   int64
	read  bool
}

// ejected reports whether t is out of rotation.
func (c *lazyNow) ejected(t *Target) bool {
	until := t.health.ejectedUntil.Load()
	if until == 0 {
		return false
	}
	if !c.read {
		c.now, c.read = c.clock.Now().UnixNano(), true
	}
	return until > c.now
}

func scan(pool []*Target, start uint64, tried []*Target, c *lazyNow, inRotation bool) *Target {
	n := uint64(len(pool))
	for i := range n {
		t := pool[(start+i)%n]
		if contains(tried, t) || (inRotation && c.ejected(t)) {
			continue
		}
		return t
	}
	return nil
}

func contains(list []*Target, t *Target) bool {
	for _, x := range list {
		if x == t {
			return true
		}
	}
	return false
}

// Reached records that a request got a response from t: its run of
// connection failures ends and it is back in rotation.
func (rt *Route) Reached(t *Target) {
	if t.health.failures.Load() != 0 {
		t.health.failures.Store(0)
	}
	if t.health.ejectedUntil.Load() != 0 {
		t.health.ejectedUntil.Store(0)
	}
}

// Unreachable records a connection-level failure on t. After EjectAfter in
// a row t leaves rotation for EjectFor; while the run continues, each
// further failure (say, the one probe after the ejection ends) ejects it
// again at once.
func (rt *Route) Unreachable(t *Target) {
	set := rt.svc.router.set
	if t.health.failures.Add(1) >= int32(set.EjectAfter) {
		t.health.ejectedUntil.Store(rt.svc.router.clock.Now().Add(set.EjectFor).UnixNano())
	}
}

// Allow asks the service's upstream breaker whether a request may go; it
// returns breaker.ErrOpen while the upstream is considered down. Every
// allowed request must end in Done, or a half-open probe is lost until the
// breaker lets another through.
func (rt *Route) Allow() error { return rt.svc.breaker.Allow(rt.svc.router.clock.Now()) }

// Done reports a request's outcome to the upstream breaker: ok is false
// when no instance could be reached (after retries).
func (rt *Route) Done(ok bool) {
	now := rt.svc.router.clock.Now()
	if ok {
		rt.svc.breaker.Success(now)
		return
	}
	rt.svc.breaker.Failure(now)
}
