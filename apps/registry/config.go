package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/vertice/vertice/adapters/consulapi"
	"github.com/vertice/vertice/adapters/tracing"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/internal/envconf"
	"github.com/vertice/vertice/internal/serve/graceful"
)

// Config is the registry's configuration, read from the environment.
type Config struct {
	// Addr is where the API listens (REGISTRY_ADDR, default ":8888").
	Addr string
	// TTL is the lease length (REGISTRY_TTL, default 60 s).
	TTL time.Duration
	// Token, when set, guards writes (REGISTRY_TOKEN, default empty: open).
	Token string
	// RedisURL selects a single Redis node (REDIS_URL); empty with no
	// Sentinel or Cluster addresses means the in-memory store.
	RedisURL string
	// SentinelAddrs and MasterName select Redis through Sentinel.
	SentinelAddrs []string
	MasterName    string
	// ClusterAddrs select a Redis Cluster.
	ClusterAddrs []string
	// StaleCacheTTL bounds how old cached reads may be while Redis is down
	// (STALE_CACHE_TTL, default 60 s).
	StaleCacheTTL time.Duration
	// RedisNotifyURL is the Redis node change notifications are subscribed
	// through (REDIS_NOTIFY_URL, default empty: the same as REDIS_URL, or
	// the Sentinel's master, or the Cluster). Set it only when pub/sub
	// must take another network path (the chaos suite cuts it alone).
	RedisNotifyURL string
	// RedisTimeout bounds every Redis call (REDIS_TIMEOUT, default 500ms):
	// a silent Redis fails a request instead of hanging it.
	RedisTimeout time.Duration
	// BreakerFailures consecutive store failures open the store's breaker
	// (STORE_BREAKER_FAILURES, default 3); it stays open BreakerOpen
	// (STORE_BREAKER_OPEN, default 10 s) before one call probes the store.
	BreakerFailures int
	BreakerOpen     time.Duration
	// TLSCertFile and TLSKeyFile, both set, make the API speak https with
	// that certificate and key, PEM files (REGISTRY_TLS_CERT_FILE,
	// REGISTRY_TLS_KEY_FILE); both empty (the default) means plain http.
	TLSCertFile string
	TLSKeyFile  string
	// LogLevel is debug, info, warn or error (LOG_LEVEL, default info).
	LogLevel string
	// HTTP bounds the registry's server: HTTP_READ_HEADER_TIMEOUT,
	// HTTP_READ_TIMEOUT, HTTP_WRITE_TIMEOUT (a blocking read extends its
	// own by its wait), HTTP_IDLE_TIMEOUT, HTTP_MAX_HEADER_BYTES,
	// HTTP_SHUTDOWN_GRACE.
	HTTP graceful.Settings
	// MaxInstancesPerService bounds the live instances of one service
	// (REGISTRY_MAX_INSTANCES_PER_SERVICE, default 100): one more is a
	// 409. With the metadata bound, it keeps one service's lookup answer
	// well under a megabyte.
	MaxInstancesPerService int
	// MaxMetadataBytes bounds one instance's metadata, keys and values
	// added up (REGISTRY_MAX_METADATA_BYTES, default 4096): more is a 400.
	MaxMetadataBytes int
	// Datacenter is the Consul datacenter the registry answers as
	// (REGISTRY_DATACENTER, default dc1): GET /v1/agent/self and every
	// node say it, and Consul queries for another are refused.
	Datacenter string
	// NodeName is the Consul agent name in GET /v1/agent/self
	// (REGISTRY_NODE_NAME, default vertice).
	NodeName string
	// Tracing exports a span per API request over OTLP/HTTP; it is on when
	// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
	// is set, and the SDK reads the other OTEL_* variables itself.
	Tracing bool
}

// Defaults of the limits on what one service may store.
const (
	DefaultMaxInstancesPerService = 100
	DefaultMaxMetadataBytes       = catalog.DefaultMaxMetadataBytes
)

// LoadConfig reads the environment and reports every bad variable at once.
func LoadConfig(lookup envconf.Lookup) (Config, error) {
	r := envconf.New(lookup)
	c := Config{
		Addr:                   r.String("REGISTRY_ADDR", ":8888"),
		TTL:                    r.Duration("REGISTRY_TTL", 60*time.Second),
		Token:                  r.String("REGISTRY_TOKEN", ""),
		RedisURL:               r.String("REDIS_URL", ""),
		SentinelAddrs:          r.List("REDIS_SENTINEL_ADDRS"),
		MasterName:             r.String("REDIS_MASTER_NAME", ""),
		ClusterAddrs:           r.List("REDIS_CLUSTER_ADDRS"),
		RedisNotifyURL:         r.String("REDIS_NOTIFY_URL", ""),
		StaleCacheTTL:          r.Duration("STALE_CACHE_TTL", 60*time.Second),
		RedisTimeout:           r.Duration("REDIS_TIMEOUT", 500*time.Millisecond),
		BreakerFailures:        r.Int("STORE_BREAKER_FAILURES", 3, 1, 1000),
		BreakerOpen:            r.Duration("STORE_BREAKER_OPEN", 10*time.Second),
		TLSCertFile:            r.String("REGISTRY_TLS_CERT_FILE", ""),
		TLSKeyFile:             r.String("REGISTRY_TLS_KEY_FILE", ""),
		LogLevel:               r.String("LOG_LEVEL", "info"),
		HTTP:                   graceful.Load(r),
		MaxInstancesPerService: r.Int("REGISTRY_MAX_INSTANCES_PER_SERVICE", DefaultMaxInstancesPerService, 1, 100_000),
		// A body is at most ginapi.MaxBodyBytes, so more could never be sent.
		MaxMetadataBytes: r.Int("REGISTRY_MAX_METADATA_BYTES", DefaultMaxMetadataBytes, 64, 60<<10),
		Datacenter:       r.String("REGISTRY_DATACENTER", consulapi.DefaultDatacenter),
		NodeName:         r.String("REGISTRY_NODE_NAME", consulapi.DefaultNodeName),
	}
	c.validate(r)
	tracingOn, err := tracing.Enabled(lookup)
	c.Tracing = tracingOn
	return c, errors.Join(r.Err(), err)
}

func (c Config) validate(r *envconf.Reader) {
	if len(c.SentinelAddrs) > 0 && c.MasterName == "" {
		r.Fail("REDIS_MASTER_NAME", "is required with REDIS_SENTINEL_ADDRS (e.g. REDIS_MASTER_NAME=mymaster)")
	}
	set := 0
	for _, on := range []bool{c.RedisURL != "", len(c.SentinelAddrs) > 0, len(c.ClusterAddrs) > 0} {
		if on {
			set++
		}
	}
	if set > 1 {
		r.Fail("REDIS_URL", "set only one of REDIS_URL, REDIS_SENTINEL_ADDRS and REDIS_CLUSTER_ADDRS")
	}
	if c.RedisNotifyURL != "" && c.RedisURL == "" {
		r.Fail("REDIS_NOTIFY_URL", "needs REDIS_URL: a separate notification path is for a single Redis node")
	}
	for _, v := range [][2]string{{"REGISTRY_DATACENTER", c.Datacenter}, {"REGISTRY_NODE_NAME", c.NodeName}} {
		if !consulName(v[1]) {
			r.Fail(v[0], fmt.Sprintf("%q must be 1 to 64 letters, digits, '-' or '_' (e.g. dc1)", v[1]))
		}
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		r.Fail("REGISTRY_TLS_CERT_FILE", "and REGISTRY_TLS_KEY_FILE must be set together (both for https, neither for http)")
	}
}

// consulName is a name Consul's clients take for a datacenter or node.
func consulName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// TLS says whether the API speaks https.
func (c Config) TLS() bool { return c.TLSCertFile != "" }

// Backend names the store the config selects.
func (c Config) Backend() string {
	if c.RedisURL == "" && len(c.SentinelAddrs) == 0 && len(c.ClusterAddrs) == 0 {
		return "memory"
	}
	return "redis"
}

// Topology says how the registry reaches Redis: "single", "sentinel" or
// "cluster"; "" on the memory store.
func (c Config) Topology() string {
	switch {
	case len(c.SentinelAddrs) > 0:
		return "sentinel"
	case len(c.ClusterAddrs) > 0:
		return "cluster"
	case c.RedisURL != "":
		return "single"
	}
	return ""
}
