package main

import (
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/internal/envconf"
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
	// CacheTTL is how long a registry answer is reused (CACHE_TTL, 5 s).
	CacheTTL time.Duration
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
	// EjectAfter connection failures in a row take an instance out of
	// rotation for EjectFor (UPSTREAM_EJECT_AFTER 3, UPSTREAM_EJECT_FOR 10 s).
	EjectAfter int
	EjectFor   time.Duration
	// TrustForwarded keeps the client's X-Forwarded-For (TRUST_FORWARDED_FOR,
	// default false: the gateway is the edge).
	TrustForwarded bool
	// Fallbacks maps service names to URLs, from every <SERVICE_NAME in
	// upper case>_URL variable (NMAP_SERVICE_URL=http://vertice-nmap:8047),
	// except the gateway's own settings (REGISTRY_URL).
	Fallbacks map[string]string
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
		Addr:            r.String("GATEWAY_ADDR", ":8000"),
		RegistryURL:     r.String("REGISTRY_URL", "http://vertice-register-lb:80"),
		RegistryTimeout: r.Duration("REGISTRY_TIMEOUT", 2*time.Second),
		CacheTTL:        r.Duration("CACHE_TTL", 5*time.Second),
		BreakerFailures: r.Int("BREAKER_FAILURES", 3, 1, 1000),
		BreakerOpen:     r.Duration("BREAKER_OPEN", 30*time.Second),
		StaleFor:        staleFor(r),
		DialTimeout:     r.Duration("UPSTREAM_DIAL_TIMEOUT", 2*time.Second),
		UpstreamTimeout: r.Duration("UPSTREAM_TIMEOUT", 30*time.Second),
		EjectAfter:      r.Int("UPSTREAM_EJECT_AFTER", 3, 1, 1000),
		EjectFor:        r.Duration("UPSTREAM_EJECT_FOR", 10*time.Second),
		TrustForwarded:  r.String("TRUST_FORWARDED_FOR", "false") == "true",
		LogLevel:        r.String("LOG_LEVEL", "info"),
	}
	if !httpURL(c.RegistryURL) {
		r.Fail("REGISTRY_URL", "must be an absolute http(s) URL (e.g. http://vertice-register-lb:80)")
	}
	c.Fallbacks = fallbacks(r, environ)
	return c, r.Err()
}

// staleFor allows "0s" to turn stale answers off; routing reads a negative
// value as "never".
func staleFor(r *envconf.Reader) time.Duration {
	v := r.String("ROUTE_STALE_TTL", "60")
	if d, err := envconf.ParseDuration(v); err == nil && d == 0 {
		return -1
	}
	return r.Duration("ROUTE_STALE_TTL", 60*time.Second)
}

// fallbacks collects <SERVICE>_URL variables. A name that is not a valid
// service name in upper case is not a fallback and is ignored; a fallback
// whose value is not an http(s) URL is an error, since it would route
// nowhere.
func fallbacks(r *envconf.Reader, environ []string) map[string]string {
	out := map[string]string{}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		prefix, ok := strings.CutSuffix(name, "_URL")
		if !ok || notFallbacks[name] || prefix != strings.ToUpper(prefix) {
			continue
		}
		service := strings.ToLower(prefix)
		if catalog.ValidateServiceName(service) != nil {
			continue
		}
		v := r.String(name, "")
		if !httpURL(v) {
			r.Fail(name, "must be an absolute http(s) URL for fallback routing (e.g. "+name+"=http://vertice-nmap:8047)")
			continue
		}
		out[service] = v
	}
	return out
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

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
