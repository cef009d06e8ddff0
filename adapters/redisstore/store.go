// Package redisstore is the ports.Store on Redis, shared by every registry
// replica. It takes a go-redis UniversalClient, so the same code serves a
// single node, Sentinel (failover) and Cluster.
//
// Layout, for prefix "vertice" and service "nmap_service":
//
//	vertice:{nmap_service}:i:<instance ID>  hash: one instance, PEXPIRE = its lease
//	vertice:{nmap_service}:ids              zset: instance IDs scored by lease end (µs)
//	vertice:{nmap_service}:v                the service's index (domain/catalog)
//	vertice:{catalog}:services              zset: service names scored by their latest lease end
//	vertice:{catalog}:leases                zset: service names scored by their earliest lease end
//	vertice:{catalog}:removed               zset: services without instances, scored by their removal index
//	vertice:{catalog}:v                     the catalog's index
//	vertice:{catalog}:seq                   the last index handed out (domain/catalog)
//	vertice:{catalog}:since                 the index of services nobody remembers
//	vertice:changes                         pub/sub channel of every change (notify.go)
//
// The {service} hash tag keeps every key of a service in one Cluster slot,
// so Put, Renew and Delete are single Lua scripts that also move the
// service's index and publish the change. The catalog's keys share the
// {catalog} slot: on a single node or Sentinel the same script updates
// them; on a Cluster they usually live on another node, so a second
// script does, right after (catalogScript). A failure between the two
// leaves the catalog's indexes behind the services' truth until the
// service's next write; reads confirm every listed name against the
// service's own keys, so nothing dead is ever listed.
//
// Leases are Redis key TTLs and scores; reads also filter by the injected
// clock, which tests move by hand. A lease's end is made a change by Reap,
// which every replica runs about every ports.ReapInterval: it asks the
// leases index which services have a lease due and removes them, moving
// their index. Listing never uses KEYS or SCAN.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vertice/vertice/domain/view"
	"github.com/vertice/vertice/ports"
)

// Defaults for the options.
const (
	DefaultPrefix = "vertice"
	// DefaultTimeout bounds one store call, retries included, so a silent
	// Redis cannot hold a request longer than this.
	DefaultTimeout = 500 * time.Millisecond
)

// Store is a ports.Store on Redis. Build it with New; it is safe for
// concurrent use.
type Store struct {
	client  redis.UniversalClient
	clock   ports.Clock
	prefix  string
	timeout time.Duration
	// oneServer: every key lives on one server (a plain or Sentinel
	// client, not a Cluster), so the scripts update the services index
	// themselves instead of in a separate command.
	oneServer bool
	// batch shares round trips among concurrent script calls (batch.go);
	// nil on a Cluster.
	batch *batcher
	// channel is where every change is published (notify.go).
	channel string
	// forgotAt is when this store last forgot old removals (Unix ns).
	forgotAt atomic.Int64
	// maxInstances bounds the live instances of a service (0: none).
	maxInstances int
}

// Option tunes New.
type Option func(*Store)

// WithPrefix sets the first part of every key, so several registries (or
// test runs) can share one Redis. Empty means DefaultPrefix.
func WithPrefix(prefix string) Option { return func(s *Store) { s.prefix = prefix } }

// WithTimeout bounds each call; zero means DefaultTimeout. The client's
// ContextTimeoutEnabled must be on for the bound to cut a blocked read
// (NewClient sets it).
func WithTimeout(d time.Duration) Option { return func(s *Store) { s.timeout = d } }

// WithMaxInstances bounds the live instances of one service (see
// ports.Store.Put): the put script checks it atomically with the write.
// Zero or less means no bound.
func WithMaxInstances(n int) Option { return func(s *Store) { s.maxInstances = n } }

// New returns a store over client that judges expiry by clock.
func New(client redis.UniversalClient, clock ports.Clock, opts ...Option) (*Store, error) {
	_, oneServer := client.(*redis.Client) // NewClient's plain and Sentinel clients
	s := &Store{client: client, clock: clock, oneServer: oneServer}
	for _, opt := range opts {
		opt(s)
	}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if strings.ContainsAny(s.prefix, "{}") {
		// A brace in the prefix would become the hash tag and scatter a
		// service's keys over several slots.
		return nil, fmt.Errorf("redisstore: prefix %q must not contain { or }", s.prefix)
	}
	if client == nil || clock == nil {
		return nil, errors.New("redisstore: client and clock are required")
	}
	if s.oneServer {
		s.batch = &batcher{client: client, timeout: s.timeout}
	}
	s.channel = s.prefix + ":changes"
	return s, nil
}

func (s *Store) instanceKey(service, id string) string {
	return s.prefix + ":{" + service + "}:i:" + id
}

func (s *Store) idsKey(service string) string { return s.prefix + ":{" + service + "}:ids" }

func (s *Store) serviceIndexKey(service string) string { return s.prefix + ":{" + service + "}:v" }

// catalogKeys are the keys of the catalog part of every script: services,
// catalog index, removed, leases, sequence.
func (s *Store) catalogKeys() []string {
	p := s.prefix + ":{catalog}:"
	return []string{p + "services", p + "v", p + "removed", p + "leases", p + "seq"}
}

func (s *Store) servicesKey() string     { return s.prefix + ":{catalog}:services" }
func (s *Store) catalogIndexKey() string { return s.prefix + ":{catalog}:v" }
func (s *Store) removedKey() string      { return s.prefix + ":{catalog}:removed" }
func (s *Store) leasesKey() string       { return s.prefix + ":{catalog}:leases" }
func (s *Store) sinceKey() string        { return s.prefix + ":{catalog}:since" }
func (s *Store) seqKey() string          { return s.prefix + ":{catalog}:seq" }

// Grace periods, in milliseconds for PEXPIRE. idsGrace keeps a service's
// ids key well past its latest lease, so the reaper always finds an
// ended lease in it. tombstoneKeep keeps a removed service's index key
// twice as long as the catalog remembers the removal (view.TombstoneTTL),
// so the index is forgotten only after since has moved past it.
var (
	idsGrace      = (10 * time.Minute).Milliseconds()
	tombstoneKeep = (2 * view.TombstoneTTL).Milliseconds()
)

// keys appends the catalog's keys to a service script's on a single
// server, where the script updates the catalog itself.
func (s *Store) keys(service ...string) []string {
	if s.oneServer {
		return append(service, s.catalogKeys()...)
	}
	return service
}

// indexed runs a service script that moves the service's index, passing
// the index as its last argument: 0 on a single server, where the script
// takes it from the catalog's sequence itself; on a Cluster, where the
// sequence lives in another slot, one allocated first, and allocated
// again if the script refuses it (a concurrent write to the service took
// a later one first).
func (s *Store) indexed(ctx context.Context, script *redis.Script, keys []string, args, tail []any, n int) ([]int64, error) {
	for range 10 {
		given := int64(0)
		if !s.oneServer {
			var err error
			if given, err = allocScript.Run(ctx, s.client, []string{s.seqKey()}, s.clock.Now().UnixMicro()).Int64(); err != nil {
				return nil, err
			}
		}
		all := append(append(append(make([]any, 0, len(args)+1+len(tail)), args...), given), tail...)
		r, err := ints(s.run(ctx, script, keys, all...), n)
		if err != nil || !refused(r) {
			return r, err
		}
	}
	return nil, errors.New("redisstore: concurrent writes to one service kept refusing the index allocated")
}

// run sends a script, sharing round trips with concurrent calls on a
// single server (batch.go).
func (s *Store) run(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	if s.batch != nil {
		return s.batch.run(ctx, script, keys, args...)
	}
	return script.Run(ctx, s.client, keys, args...)
}

// liveRange selects scores strictly after now: a lease ending exactly at now
// is over, as catalog.Instance.Expired says.
func liveRange(now time.Time) *redis.ZRangeBy {
	return &redis.ZRangeBy{Min: "(" + strconv.FormatInt(now.UnixMicro(), 10), Max: "+inf"}
}

// leaseMillis is the PEXPIRE argument for a lease with left to run: rounded
// up, and at least 1 because PEXPIRE 0 deletes the key at once.
func leaseMillis(left time.Duration) int64 {
	return max(1, int64(math.Ceil(float64(left)/float64(time.Millisecond))))
}

// mapErr turns redis.Nil into ports.ErrNotFound and anything else into
// ports.ErrUnavailable.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, redis.Nil) {
		return ports.ErrNotFound
	}
	return unavailable(op, err)
}

// unavailable wraps a Redis failure so callers can test for
// ports.ErrUnavailable and still see (and errors.Is) the cause.
func unavailable(op string, err error) error {
	return fmt.Errorf("redisstore: %s: %w: %w", op, ports.ErrUnavailable, err)
}

var (
	_ ports.Store  = (*Store)(nil)
	_ ports.Reaper = (*Store)(nil)
)
