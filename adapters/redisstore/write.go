package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
)

// effect is a service script's effect on the catalog, which a Cluster
// applies in a second call (catalogScript).
type effect struct {
	kind          int64 // 0 nothing, 1 appeared, 2 emptied, 3 live
	index         int64
	latest, first int64
}

// Put implements ports.Store.
func (s *Store) Put(ctx context.Context, in catalog.Instance) (catalog.Change, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	now := s.clock.Now()
	fields, err := encode(in)
	if err != nil {
		return catalog.Change{}, err
	}
	args := []any{now.UnixMicro(), in.ExpiresAt().UnixMicro(), leaseMillis(in.ExpiresAt().Sub(now)),
		in.InstanceID, in.ServiceName, s.channel, idsGrace, max(s.maxInstances, 0)}
	keys := s.keys(s.instanceKey(in.ServiceName, in.InstanceID), s.idsKey(in.ServiceName), s.serviceIndexKey(in.ServiceName))
	r, err := s.indexed(ctx, putScript, keys, args, fields, 7)
	if err != nil {
		return catalog.Change{}, unavailable("put", err)
	}
	if full(r) {
		return catalog.Change{}, &ports.LimitError{Service: in.ServiceName, Limit: s.maxInstances}
	}
	ch := catalog.Change{Created: r[0] == 0, Prev: uint64(r[1]), Index: uint64(r[2]), Catalog: uint64(r[6])}
	err = s.afterScript(ctx, in.ServiceName, now, effect{kind: r[3], index: r[2], latest: r[4], first: r[5]}, &ch)
	return ch, err
}

// Renew implements ports.Store.
func (s *Store) Renew(ctx context.Context, service, id string) (catalog.Instance, error) {
	sctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	now := s.clock.Now()
	keys := s.keys(s.instanceKey(service, id), s.idsKey(service))
	args := make([]any, 0, 6+len(instanceFieldArgs))
	args = append(append(args, now.UnixMicro(), now.UnixNano(), id, service, s.channel, idsGrace), instanceFieldArgs...)
	reply, err := s.run(sctx, renewScript, keys, args...).Result()
	if err != nil {
		return catalog.Instance{}, mapErr("renew", err)
	}
	parts, ok := reply.([]any)
	if !ok || len(parts) != 3 {
		return catalog.Instance{}, fmt.Errorf("redisstore: renew: unexpected reply %T", reply)
	}
	in, ok, err := decodeFields(parts[2])
	if err != nil {
		return catalog.Instance{}, err
	}
	if !ok {
		return catalog.Instance{}, ports.ErrNotFound
	}
	latest, _ := parts[0].(int64)
	first, _ := parts[1].(int64)
	// The renewal's own bound for the catalog part: a slow Redis must not
	// fail a heartbeat whose lease is already renewed for want of time.
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.afterScript(cctx, service, now, effect{kind: 3, latest: latest, first: first}, nil); err != nil {
		return catalog.Instance{}, err
	}
	return in, nil
}

// Delete implements ports.Store.
func (s *Store) Delete(ctx context.Context, service, id string) (catalog.Change, error) {
	mode := "one"
	if id == "" {
		mode = "all"
	}
	ch, err := s.remove(ctx, service, mode, id)
	if err == nil && ch.Removed == 0 {
		err = ports.ErrNotFound
	}
	return ch, err
}

// remove runs removeScript in mode ("one", "all" or "reap") and returns
// how many live instances went and how the index moved.
func (s *Store) remove(ctx context.Context, service, mode, id string) (catalog.Change, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	now := s.clock.Now()
	keys := s.keys(s.idsKey(service), s.serviceIndexKey(service))
	args := []any{now.UnixMicro(), s.instanceKey(service, ""), service, s.channel, idsGrace, tombstoneKeep, mode, id}
	r, err := s.indexed(ctx, removeScript, keys, args, nil, 7)
	if err != nil {
		return catalog.Change{}, unavailable(mode, err)
	}
	ch := catalog.Change{Removed: int(r[0]), Prev: uint64(r[1]), Index: uint64(r[2]), Catalog: uint64(r[6])}
	if r[2] == 0 { // nothing went: the index did not move
		ch.Prev, ch.Index = 0, 0
	}
	err = s.afterScript(ctx, service, now, effect{kind: r[3], index: r[2], latest: r[4], first: r[5]}, &ch)
	return ch, err
}

// afterScript applies a service script's effect on the catalog on a
// Cluster, and records in ch the catalog index if it moved; on a single
// server the script did it already.
func (s *Store) afterScript(ctx context.Context, service string, now time.Time, e effect, ch *catalog.Change) error {
	if s.oneServer {
		return nil
	}
	c, err := catalogScript.Run(ctx, s.client, s.catalogKeys(), now.UnixMicro(), service, s.channel,
		e.kind, e.index, e.latest, e.first).Int64()
	if err != nil {
		return mapErr("catalog", err)
	}
	if ch != nil {
		ch.Catalog = uint64(c)
	}
	return nil
}

// ints reads a script's reply of n integers, or the refusals {-1} (the
// index given) and {-2} (the service is full).
func ints(cmd *redis.Cmd, n int) ([]int64, error) {
	reply, err := cmd.Slice()
	if err != nil {
		return nil, err
	}
	if len(reply) == 1 && (reply[0] == int64(-1) || reply[0] == int64(-2)) {
		return []int64{reply[0].(int64)}, nil
	}
	if len(reply) != n {
		return nil, fmt.Errorf("redisstore: script answered %d values, want %d", len(reply), n)
	}
	out := make([]int64, n)
	for i, v := range reply {
		x, ok := v.(int64)
		if !ok {
			return nil, fmt.Errorf("redisstore: script value %d is %T, want an integer", i, v)
		}
		out[i] = x
	}
	return out, nil
}

// refused says a script refused the index given to it.
func refused(r []int64) bool { return len(r) == 1 && r[0] == -1 }

// full says putScript refused a new instance of a full service.
func full(r []int64) bool { return len(r) == 1 && r[0] == -2 }
