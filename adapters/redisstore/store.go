// Package redisstore is the ports.Store on Redis, shared by every registry
// replica. It takes a go-redis UniversalClient, so the same code serves a
// single node, Sentinel (failover) and Cluster.
//
// Layout, for prefix "vertice" and service "nmap_service":
//
//	vertice:{nmap_service}:i:<instance ID>  hash: one instance, PEXPIRE = its lease
//	vertice:{nmap_service}:ids              zset: instance IDs scored by expiry (µs)
//	vertice:services                        zset: service names scored by their latest expiry
//
// The {service} hash tag keeps every key of a service in one Cluster slot,
// so Put, Renew and Delete are single Lua scripts. Redis's own key TTL is
// the shared truth about expiry; reads also filter by the injected clock,
// which tests move by hand.
//
// The services index is one key, hence one slot: in a Cluster it usually
// lives on another node than the service's keys, so it is updated in a
// separate call after each write rather than inside the script (on a
// single node or Sentinel, where every key is on one server, the put and
// renew scripts update it themselves). Its scores
// only ever grow (ZADD GT); reads drop the names whose score has passed and
// confirm each remaining name against the service's own index, so a name
// left behind by a Delete or by a failure between the two calls is never
// listed, and a live service missing from it reappears at its next
// heartbeat. Listing never uses KEYS or SCAN.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vertice/vertice/domain/catalog"
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
	return s, nil
}

func (s *Store) instanceKey(service, id string) string {
	return s.prefix + ":{" + service + "}:i:" + id
}

func (s *Store) indexKey(service string) string { return s.prefix + ":{" + service + "}:ids" }

func (s *Store) servicesKey() string { return s.prefix + ":services" }

// Put implements ports.Store. On a single node or Sentinel the script also
// updates the services index: one command. On a Cluster the script and the
// services index update go out in one pipeline (split per slot). Should
// the script fail while the index update lands, the index merely names a
// service with no live instance, which Services filters out (see the
// package comment).
func (s *Store) Put(ctx context.Context, in catalog.Instance) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	now := s.clock.Now()
	fields, err := encode(in)
	if err != nil {
		return false, err
	}
	exp := in.ExpiresAt().UnixMicro()
	args := append([]any{now.UnixMicro(), exp, leaseMillis(in.ExpiresAt().Sub(now)), in.InstanceID, in.ServiceName}, fields...)
	if s.oneServer {
		keys := []string{s.instanceKey(in.ServiceName, in.InstanceID), s.indexKey(in.ServiceName), s.servicesKey()}
		existed, err := s.batch.run(ctx, putScript, keys, args...).Int()
		if err != nil {
			return false, unavailable("put", err)
		}
		return existed == 0, nil
	}
	keys := []string{s.instanceKey(in.ServiceName, in.InstanceID), s.indexKey(in.ServiceName)}
	var put *redis.Cmd
	var index *redis.IntCmd
	pipe := func(p redis.Pipeliner) error {
		put = putScript.EvalSha(ctx, p, keys, args...)
		index = p.ZAddGT(ctx, s.servicesKey(), redis.Z{Score: float64(exp), Member: in.ServiceName})
		return nil
	}
	_, err = s.client.Pipelined(ctx, pipe)
	if err != nil && redis.HasErrorPrefix(put.Err(), "NOSCRIPT") {
		// First use on this server (or after SCRIPT FLUSH / a failover to
		// a node that never saw it): load it and send the pipeline again.
		if err = putScript.Load(ctx, s.client).Err(); err == nil {
			_, err = s.client.Pipelined(ctx, pipe)
		}
	}
	if err != nil {
		if perr := put.Err(); perr != nil {
			return false, unavailable("put", perr)
		}
		return false, mapErr("index service", index.Err())
	}
	existed, err := put.Int()
	if err != nil {
		return false, unavailable("put", err)
	}
	return existed == 0, nil
}

// Renew implements ports.Store. On a single node or Sentinel it is one
// script that also raises the service in the services index. On a Cluster
// the index lives in another slot, so it takes two round trips (the
// script, then the index), bounded one by one, as WithTimeout says: under
// one shared bound a Redis slower than half the timeout failed every
// heartbeat, and each timeout cost a connection, so the next call paid one
// more round trip to open another.
func (s *Store) Renew(ctx context.Context, service, id string) (catalog.Instance, error) {
	sctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	now := s.clock.Now()
	keys := []string{s.instanceKey(service, id), s.indexKey(service)}
	args := make([]any, 0, 4+len(instanceFieldArgs))
	args = append(append(args, now.UnixMicro(), now.UnixNano(), id, service), instanceFieldArgs...)
	var cmd *redis.Cmd
	if s.oneServer {
		keys = append(keys, s.servicesKey())
		cmd = s.batch.run(sctx, renewScript, keys, args...)
	} else {
		cmd = renewScript.Run(sctx, s.client, keys, args...)
	}
	reply, err := cmd.Result()
	if err != nil {
		return catalog.Instance{}, mapErr("renew", err)
	}
	in, ok, err := decodeFields(reply)
	if err != nil {
		return catalog.Instance{}, err
	}
	if !ok {
		return catalog.Instance{}, ports.ErrNotFound
	}
	if s.oneServer {
		return in, nil
	}
	ictx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.listService(ictx, service, in.ExpiresAt().UnixMicro()); err != nil {
		return catalog.Instance{}, err
	}
	return in, nil
}

// listService raises the service's score in the services index to exp. It
// is a separate call because the index lives in another slot (see the
// package comment).
func (s *Store) listService(ctx context.Context, service string, exp int64) error {
	err := s.client.ZAddGT(ctx, s.servicesKey(), redis.Z{Score: float64(exp), Member: service}).Err()
	return mapErr("index service", err)
}

// Instances implements ports.Store: one script, one round trip.
func (s *Store) Instances(ctx context.Context, service string) ([]catalog.Instance, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	now := s.clock.Now()
	args := make([]any, 0, 2+len(instanceFieldArgs))
	args = append(append(args, now.UnixMicro(), s.instanceKey(service, "")), instanceFieldArgs...)
	keys := []string{s.indexKey(service)}
	var cmd *redis.Cmd
	if s.batch != nil {
		cmd = s.batch.run(ctx, instancesScript, keys, args...)
	} else {
		cmd = instancesScript.Run(ctx, s.client, keys, args...)
	}
	reply, err := cmd.Slice()
	if err != nil {
		return nil, unavailable("instances", err)
	}
	list := make([]catalog.Instance, 0, len(reply))
	for _, r := range reply {
		in, ok, err := decodeFields(r)
		if err != nil {
			return nil, err
		}
		if ok && !in.Expired(now) {
			list = append(list, in)
		}
	}
	if len(list) == 0 {
		return nil, ports.ErrNotFound
	}
	return list, nil
}

// Services implements ports.Store.
func (s *Store) Services(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	now := s.clock.Now()
	candidates, err := s.candidates(ctx, now)
	if err != nil {
		return nil, err
	}
	return s.confirm(ctx, candidates, now)
}

// candidates prunes the names whose latest lease has ended and returns the
// rest. Both commands touch one key, so the transaction stays in one slot.
func (s *Store) candidates(ctx context.Context, now time.Time) ([]string, error) {
	var names *redis.StringSliceCmd
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, s.servicesKey(), "-inf", strconv.FormatInt(now.UnixMicro(), 10))
		names = p.ZRangeByScore(ctx, s.servicesKey(), liveRange(now))
		return nil
	})
	if err != nil {
		return nil, unavailable("services", err)
	}
	return names.Val(), nil
}

// confirm keeps the names whose own index still holds a live instance; the
// pipeline fans out per slot on a Cluster.
func (s *Store) confirm(ctx context.Context, names []string, now time.Time) ([]string, error) {
	if len(names) == 0 {
		return []string{}, nil
	}
	counts := make([]*redis.IntCmd, len(names))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		r := liveRange(now)
		for i, name := range names {
			counts[i] = p.ZCount(ctx, s.indexKey(name), r.Min, r.Max)
		}
		return nil
	})
	if err != nil {
		return nil, unavailable("services", err)
	}
	live := make([]string, 0, len(names))
	for i, name := range names {
		if counts[i].Val() > 0 {
			live = append(live, name)
		}
	}
	sort.Strings(live)
	return live, nil
}

// Delete implements ports.Store.
func (s *Store) Delete(ctx context.Context, service, id string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ids := []string{id}
	if id == "" {
		// Every ID ever indexed, expired ones too, so their keys go as well.
		all, err := s.client.ZRange(ctx, s.indexKey(service), 0, -1).Result()
		if err != nil {
			return 0, unavailable("delete", err)
		}
		ids = all
	}
	if len(ids) == 0 {
		return 0, ports.ErrNotFound
	}
	keys := make([]string, 0, len(ids)+1)
	args := make([]any, 0, len(ids)+1)
	keys = append(keys, s.indexKey(service))
	args = append(args, s.clock.Now().UnixMicro())
	for _, id := range ids {
		keys = append(keys, s.instanceKey(service, id))
		args = append(args, id)
	}
	n, err := deleteScript.Run(ctx, s.client, keys, args...).Int()
	if err != nil {
		return 0, unavailable("delete", err)
	}
	if n == 0 {
		return 0, ports.ErrNotFound
	}
	return n, nil
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

var _ ports.Store = (*Store)(nil)
