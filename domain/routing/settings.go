// Package routing is the gateway's resolve policy: which upstream URL a
// request for a service goes to. It caches registry answers for a short
// TTL, guards the registry with a circuit breaker, falls back to configured
// URLs, balances round robin over healthy instances, ejects instances whose
// connections keep failing, and guards each service with its own breaker.
// It does no network I/O itself (the registry is a ports.Directory) and reads
// time only from the injected clock.
package routing

import (
	"errors"
	"fmt"
	"time"

	"github.com/vertice/vertice/domain/breaker"
	"github.com/vertice/vertice/domain/catalog"
)

// Defaults, from the v1 gateway's routing where it has one.
const (
	DefaultCacheTTL   = 5 * time.Second
	DefaultStaleFor   = 60 * time.Second
	DefaultEjectAfter = 3
	DefaultEjectFor   = 10 * time.Second
	// DefaultForgetAfter is how long an unused service is remembered.
	DefaultForgetAfter = 10 * time.Minute
)

// Settings tune a Router. Zero values mean the defaults above; the breakers'
// zero values mean v1's 3 failures / 30 s.
type Settings struct {
	// CacheTTL is how long a registry answer is reused without asking again,
	// while the router does not follow the change feed (Follow).
	CacheTTL time.Duration
	// StaleFor is how long after the registry last answered its answer may
	// still be used when the registry fails and no fallback URL is set.
	// Negative means never: fail instead.
	StaleFor time.Duration
	// Registry guards the calls to the registry.
	Registry breaker.Settings
	// Upstream guards each service's upstream (one breaker per service).
	Upstream breaker.Settings
	// EjectAfter is how many connection failures in a row take an instance
	// out of rotation; EjectFor is for how long.
	EjectAfter int
	EjectFor   time.Duration
	// ForgetAfter is how long the router remembers a service nobody routes
	// to (its breaker, instance health and last answer); Forget drops it
	// after that. Negative means never (services the registry says are gone
	// are still forgotten). Keep it above StaleFor, or an idle service loses
	// its stale answer early.
	ForgetAfter time.Duration
	// FeedWait is how long one change-feed request waits (Follow); zero
	// means DefaultFeedWait.
	FeedWait time.Duration
	// Versions splits a service's traffic by instance version (Split), by
	// service name. A service not in it (nil: none is) is balanced round
	// robin over all its instances, whatever their versions.
	Versions map[string]Split
}

// Validate names the first field that cannot be used.
func (s Settings) Validate() error {
	var errs []error
	neg := func(field string, d time.Duration) {
		if d < 0 {
			errs = append(errs, fmt.Errorf("routing: %s must not be negative (got %s)", field, d))
		}
	}
	neg("CacheTTL", s.CacheTTL)
	neg("Registry.OpenFor", s.Registry.OpenFor)
	neg("Upstream.OpenFor", s.Upstream.OpenFor)
	neg("EjectFor", s.EjectFor)
	if s.Registry.Failures < 0 || s.Upstream.Failures < 0 || s.EjectAfter < 0 {
		errs = append(errs, errors.New("routing: Registry.Failures, Upstream.Failures and EjectAfter must not be negative"))
	}
	for name, split := range s.Versions {
		if err := catalog.ValidateServiceName(name); err != nil {
			errs = append(errs, fmt.Errorf("routing: Versions[%q]: %w", name, err))
		} else if err := split.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("routing: Versions[%q]: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func (s Settings) withDefaults() Settings {
	if s.CacheTTL == 0 {
		s.CacheTTL = DefaultCacheTTL
	}
	if s.StaleFor == 0 {
		s.StaleFor = DefaultStaleFor
	}
	if s.EjectAfter == 0 {
		s.EjectAfter = DefaultEjectAfter
	}
	if s.EjectFor == 0 {
		s.EjectFor = DefaultEjectFor
	}
	if s.FeedWait <= 0 {
		s.FeedWait = DefaultFeedWait
	}
	if s.ForgetAfter == 0 {
		s.ForgetAfter = DefaultForgetAfter
	}
	s.Registry, s.Upstream = s.Registry.WithDefaults(), s.Upstream.WithDefaults()
	return s
}
