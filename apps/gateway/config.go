package main

import (
	"errors"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vertice/vertice/adapters/proxy"
	"github.com/vertice/vertice/adapters/ratelimit"
	"github.com/vertice/vertice/adapters/tracing"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/routing"
	"github.com/vertice/vertice/internal/envconf"
	"github.com/vertice/vertice/internal/serve/graceful"
)

// Config is the gateway's configuration, read from the environment.
type Config struct {
	// Addr is where the gateway listens (GATEWAY_ADDR, default ":8000").
	Addr string
	// RegistryURL is the registry (or its load balancer) the gateway asks
	// (REGISTRY_URL, default http://vertice-register-lb:80).
	RegistryURL string
	// RegistryTimeout bounds one registry lookup (REGISTRY_TIMEOUT, 2 s).
	RegistryTimeout time.Duration
	// CacheTTL is how long a registry answer is reused (CACHE_TTL, 5 s)
	// while the gateway does not follow the registry's change feed.
	CacheTTL time.Duration
	// Watch follows the registry's change feed, so a change reaches the
	// routes within a round trip instead of within CACHE_TTL
	// (REGISTRY_WATCH, default true; a v1 registry without the feed makes
	// the gateway fall back to CACHE_TTL by itself).
	Watch bool
	// FeedWait is how long one change-feed request waits for a change
	// (REGISTRY_WATCH_WAIT, 30 s).
	FeedWait time.Duration
	// BreakerFailures and BreakerOpen tune both the registry breaker and each
	// service's upstream breaker (BREAKER_FAILURES 3, BREAKER_OPEN 30 s).
	BreakerFailures int
	BreakerOpen     time.Duration
	// StaleFor is how long the last registry answer stands in while the
	// registry is down and a service has no fallback URL
	// (ROUTE_STALE_TTL, 60 s; 0s disables).
	StaleFor time.Duration
	// DialTimeout bounds connecting to an instance (UPSTREAM_DIAL_TIMEOUT, 2 s).
	DialTimeout time.Duration
	// UpstreamTimeout bounds the wait for response headers (UPSTREAM_TIMEOUT, 30 s).
	UpstreamTimeout time.Duration
	// UpstreamIdleTimeout bounds silence on an upstream connection once a
	// response is under way, e.g. a body that stalls (UPSTREAM_IDLE_TIMEOUT,
	// 60 s); idle pooled connections are closed after it too.
	UpstreamIdleTimeout time.Duration
	// ForgetAfter is how long a service nobody routes to keeps its router
	// state and metric series (ROUTE_FORGET_AFTER, 10 min; 0s: never).
	// Services the registry says are gone are forgotten at once.
	ForgetAfter time.Duration
	// MaxHops is how many times a request may already have passed through
	// the gateway (its Via entries) before it is answered 508
	// (GATEWAY_MAX_HOPS, 3).
	MaxHops int
	// HTTP bounds the gateway's own server: HTTP_READ_HEADER_TIMEOUT,
	// HTTP_READ_TIMEOUT, HTTP_WRITE_TIMEOUT (per write for proxied
	// responses), HTTP_IDLE_TIMEOUT, HTTP_MAX_HEADER_BYTES,
	// HTTP_SHUTDOWN_GRACE.
	HTTP graceful.Settings
	// EjectAfter connection failures in a row take an instance out of
	// rotation for EjectFor (UPSTREAM_EJECT_AFTER 3, UPSTREAM_EJECT_FOR 10 s).
	EjectAfter int
	EjectFor   time.Duration
	// TrustForwarded keeps the client's X-Forwarded-For (TRUST_FORWARDED_FOR,
	// default false: the gateway is the edge).
	TrustForwarded bool
	// Fallbacks maps service names to URLs, from every <SERVICE_NAME in
	// upper case>_URL variable (NMAP_SERVICE_URL=http://vertice-nmap:8047),
	// except the gateway's own settings (REGISTRY_URL), whose value is a
	// plain http(s) URL (see fallbacks).
	Fallbacks map[string]string
	// Warnings name the *_URL variables that were not taken as fallbacks,
	// and why, for the log at start.
	Warnings []string
	// Versions splits services' traffic by instance version, from every
	// <SERVICE_NAME in upper case>_VERSIONS variable
	// (NMAP_SERVICE_VERSIONS=1.0.0:90,1.1.0:10; routing.ParseSplit).
	Versions map[string]routing.Split
	// Limits caps services' request rates on this replica, from every
	// <SERVICE_NAME in upper case>_RATE variable
	// (NMAP_SERVICE_RATE=100/s,burst=200; ratelimit.Parse).
	Limits map[string]ratelimit.Limit
	// Tracing exports a span per request over OTLP/HTTP; it is on when
	// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
	// is set, and the SDK reads the other OTEL_* variables itself.
	Tracing bool
	// LogLevel is debug, info, warn or error (LOG_LEVEL, default info).
	LogLevel string
}

// notFallbacks are *_URL variables that configure something else.
var notFallbacks = map[string]bool{"REGISTRY_URL": true, "REDIS_URL": true}

// LoadConfig reads the environment; environ (os.Environ's form) is scanned
// for fallback URLs. Every bad variable is reported at once.
func LoadConfig(lookup envconf.Lookup, environ []string) (Config, error) {
	r := envconf.New(lookup)
	c := Config{
		Addr:                r.String("GATEWAY_ADDR", ":8000"),
		RegistryURL:         r.String("REGISTRY_URL", "http://vertice-register-lb:80"),
		RegistryTimeout:     r.Duration("REGISTRY_TIMEOUT", 2*time.Second),
		CacheTTL:            r.Duration("CACHE_TTL", 5*time.Second),
		Watch:               r.Bool("REGISTRY_WATCH", true),
		FeedWait:            r.Duration("REGISTRY_WATCH_WAIT", 30*time.Second),
		BreakerFailures:     r.Int("BREAKER_FAILURES", 3, 1, 1000),
		BreakerOpen:         r.Duration("BREAKER_OPEN", 30*time.Second),
		StaleFor:            orNever(r, "ROUTE_STALE_TTL", routing.DefaultStaleFor),
		DialTimeout:         r.Duration("UPSTREAM_DIAL_TIMEOUT", 2*time.Second),
		UpstreamTimeout:     r.Duration("UPSTREAM_TIMEOUT", 30*time.Second),
		UpstreamIdleTimeout: r.Duration("UPSTREAM_IDLE_TIMEOUT", proxy.DefaultIdleTimeout),
		ForgetAfter:         orNever(r, "ROUTE_FORGET_AFTER", routing.DefaultForgetAfter),
		MaxHops:             r.Int("GATEWAY_MAX_HOPS", proxy.DefaultMaxHops, 1, 20),
		HTTP:                graceful.Load(r),
		EjectAfter:          r.Int("UPSTREAM_EJECT_AFTER", 3, 1, 1000),
		EjectFor:            r.Duration("UPSTREAM_EJECT_FOR", 10*time.Second),
		TrustForwarded:      r.String("TRUST_FORWARDED_FOR", "false") == "true",
		LogLevel:            r.String("LOG_LEVEL", "info"),
	}
	if problem := urlProblem(c.RegistryURL); problem != "" {
		// Ours for certain, so an error; the value is logged at start, so
		// credentials are refused, and a query or fragment would break the
		// lookup paths appended to it.
		r.Fail("REGISTRY_URL", problem+": it must be a plain absolute http(s) URL (e.g. http://vertice-register-lb:80)")
	}
	c.Fallbacks, c.Warnings = fallbacks(r, environ)
	c.Versions, c.Limits = policies(r, environ)
	tracingOn, err := tracing.Enabled(lookup)
	c.Tracing = tracingOn
	return c, errors.Join(r.Err(), err)
}

// policies collects <SERVICE>_VERSIONS splits and <SERVICE>_RATE limits,
// under the fallbacks' name rule: the name must be a valid service name in
// upper case, else the variable is not the gateway's and is left alone.
// Unlike a fallback's, a bad value is an error naming the variable: a
// canary split or a limit silently dropped would send traffic where the
// operator said it must not go.
func policies(r *envconf.Reader, environ []string) (map[string]routing.Split, map[string]ratelimit.Limit) {
	splits, limits := map[string]routing.Split{}, map[string]ratelimit.Limit{}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if service, ok := serviceOf(name, "_VERSIONS"); ok {
			split, err := routing.ParseSplit(r.String(name, ""))
			if err != nil {
				r.Fail(name, strings.TrimPrefix(err.Error(), "routing: ")+" (e.g. "+name+"=1.0.0:90,1.1.0:10)")
				continue
			}
			splits[service] = split
		}
		if service, ok := serviceOf(name, "_RATE"); ok {
			limit, err := ratelimit.Parse(r.String(name, ""))
			if err != nil {
				r.Fail(name, strings.TrimPrefix(err.Error(), "ratelimit: "))
				continue
			}
			limits[service] = limit
		}
	}
	return splits, limits
}

// serviceOf reads the service a <SERVICE>suffix variable is about: its
// name is a valid service name in upper case followed by suffix.
func serviceOf(name, suffix string) (string, bool) {
	prefix, ok := strings.CutSuffix(name, suffix)
	if !ok || prefix != strings.ToUpper(prefix) {
		return "", false
	}
	service := strings.ToLower(prefix)
	return service, catalog.ValidateServiceName(service) == nil
}

// orNever reads a duration that "0" (or "0s") turns off; routing reads a
// negative value as "never".
func orNever(r *envconf.Reader, name string, def time.Duration) time.Duration {
	if d, err := envconf.ParseDuration(r.String(name, "")); err == nil && d == 0 {
		return -1
	}
	return r.Duration(name, def)
}

// fallbacks collects <SERVICE>_URL variables. Only a name that is a valid
// service name in upper case can be a fallback, and only when its value is
// a plain absolute http(s) URL: no credentials, query, fragment or dot
// segments. Any other such variable (DATABASE_URL=postgres://..., a
// SENTRY_URL with a key in it) is not plausibly a route: it is ignored
// with a warning naming it, never an error, so an unrelated variable in
// the environment cannot stop the gateway. Values are never logged.
func fallbacks(r *envconf.Reader, environ []string) (map[string]string, []string) {
	out := map[string]string{}
	var warnings []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		service, ok := serviceOf(name, "_URL")
		if !ok || notFallbacks[name] {
			continue
		}
		v := r.String(name, "")
		if problem := urlProblem(v); problem != "" {
			warnings = append(warnings, name+" is not used as a fallback route for "+service+": "+problem)
			continue
		}
		out[service] = v
	}
	sort.Strings(warnings)
	return out, warnings
}

// urlProblem says why v cannot be a registry or fallback URL, or "".
func urlProblem(v string) string {
	u, err := url.Parse(v)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "":
		return "its value is not an absolute http(s) URL (e.g. http://vertice-nmap:8047)"
	case u.User != nil:
		return "its URL carries credentials (user:password@)"
	case u.RawQuery != "" || u.ForceQuery:
		return "its URL has a query string"
	case u.Fragment != "" || strings.Contains(v, "#"):
		return "its URL has a fragment"
	case slices.Contains(strings.Split(u.Path, "/"), ".."), slices.Contains(strings.Split(u.Path, "/"), "."):
		return "its URL path has . or .. segments"
	}
	return ""
}

// FallbackNames lists the services with a fallback URL, sorted, for logs.
func (c Config) FallbackNames() []string {
	names := make([]string, 0, len(c.Fallbacks))
	for n := range c.Fallbacks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// VersionSplits lists the services' splits ("nmap_service=1.0.0:90,1.1.0:10"),
// sorted, for logs.
func (c Config) VersionSplits() []string {
	out := make([]string, 0, len(c.Versions))
	for service, split := range c.Versions {
		out = append(out, service+"="+split.String())
	}
	sort.Strings(out)
	return out
}

// RateLimits lists the services' limits ("nmap_service=100/s,burst=200"),
// sorted, for logs.
func (c Config) RateLimits() []string {
	out := make([]string, 0, len(c.Limits))
	for service, limit := range c.Limits {
		out = append(out, service+"="+limit.String())
	}
	sort.Strings(out)
	return out
}
