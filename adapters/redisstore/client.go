package redisstore

import (
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultClientTimeout bounds each dial, read and write.
const DefaultClientTimeout = 500 * time.Millisecond

// dialAttempts keeps a refused dial from being retried until the store's
// deadline hides its cause ("connection refused" beats "deadline exceeded").
const dialAttempts = 1

// defaultMaxRetries lets go-redis ride over one dropped connection (or a
// Sentinel switching masters) while staying inside the store's per-call
// timeout; more retries would only be cut by it.
const defaultMaxRetries = 2

// Config says how to reach Redis. Exactly one of URL, SentinelAddrs and
// ClusterAddrs is set; the zero Config is invalid (the registry uses its
// in-memory store then and never calls NewClient).
type Config struct {
	// URL is REDIS_URL: redis://[user:password@]host:port[/db], or rediss://
	// for TLS. One node.
	URL string
	// SentinelAddrs is REDIS_SENTINEL_ADDRS (host:port of each Sentinel);
	// MasterName (REDIS_MASTER_NAME) is then required.
	SentinelAddrs []string
	MasterName    string
	// ClusterAddrs is REDIS_CLUSTER_ADDRS: seed nodes of a Redis Cluster.
	ClusterAddrs []string
	// Password authenticates to Sentinel-managed or Cluster nodes (a URL
	// carries its own). Empty means none.
	Password string
	// Timeout bounds every dial, read and write; zero means
	// DefaultClientTimeout.
	Timeout time.Duration
}

// Validate names the setting that is wrong.
func (c Config) Validate() error {
	set := 0
	for _, on := range []bool{c.URL != "", len(c.SentinelAddrs) > 0, len(c.ClusterAddrs) > 0} {
		if on {
			set++
		}
	}
	switch {
	case set == 0:
		return errors.New("redisstore: set one of REDIS_URL, REDIS_SENTINEL_ADDRS or REDIS_CLUSTER_ADDRS")
	case set > 1:
		return errors.New("redisstore: set only one of REDIS_URL, REDIS_SENTINEL_ADDRS and REDIS_CLUSTER_ADDRS")
	case len(c.SentinelAddrs) > 0 && c.MasterName == "":
		return errors.New("redisstore: REDIS_MASTER_NAME is required with REDIS_SENTINEL_ADDRS")
	case c.Timeout < 0:
		return fmt.Errorf("redisstore: timeout %v must not be negative", c.Timeout)
	}
	if c.URL != "" {
		if _, err := redis.ParseURL(c.URL); err != nil {
			return fmt.Errorf("redisstore: REDIS_URL: %w", err)
		}
	}
	return nil
}

// NewClient builds the client Config selects: a plain client, a Sentinel
// failover client or a Cluster client, all with every network step bounded
// by Timeout and contexts' deadlines honoured, so a silent Redis fails a
// call instead of hanging it.
func NewClient(c Config) (redis.UniversalClient, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	t := c.Timeout
	if t == 0 {
		t = DefaultClientTimeout
	}
	switch {
	case len(c.SentinelAddrs) > 0:
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: c.MasterName, SentinelAddrs: c.SentinelAddrs, Password: c.Password,
			DialTimeout: t, ReadTimeout: t, WriteTimeout: t, PoolTimeout: t,
			ContextTimeoutEnabled: true, MaxRetries: defaultMaxRetries, DialerRetries: dialAttempts,
		}), nil
	case len(c.ClusterAddrs) > 0:
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: c.ClusterAddrs, Password: c.Password,
			DialTimeout: t, ReadTimeout: t, WriteTimeout: t, PoolTimeout: t,
			ContextTimeoutEnabled: true, MaxRetries: defaultMaxRetries, DialerRetries: dialAttempts,
		}), nil
	default:
		opt, _ := redis.ParseURL(c.URL) // checked by Validate
		opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout = t, t, t, t
		opt.ContextTimeoutEnabled = true
		opt.MaxRetries, opt.DialerRetries = defaultMaxRetries, dialAttempts
		return redis.NewClient(opt), nil
	}
}
