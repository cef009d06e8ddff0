package redisstore

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vertice/vertice/domain/catalog"
)

// Service implements ports.Store: one script, one round trip (two for a
// service without a live instance, whose index is at least since).
func (s *Store) Service(ctx context.Context, service string) (catalog.Service, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	now := s.clock.Now()
	reply, err := s.run(ctx, readScript, s.readKeys(service), s.readArgs(service, now)...).Slice()
	if err != nil {
		return catalog.Service{}, unavailable("service", err)
	}
	out, err := decodeService(service, reply, now)
	if err != nil || out.Found() {
		return out, err
	}
	since, err := s.since(ctx)
	out.Index = max(out.Index, since)
	return out, err
}

func (s *Store) readKeys(service string) []string {
	return []string{s.idsKey(service), s.serviceIndexKey(service)}
}

func (s *Store) readArgs(service string, now time.Time) []any {
	args := make([]any, 0, 2+len(instanceFieldArgs))
	return append(append(args, now.UnixMicro(), s.instanceKey(service, "")), instanceFieldArgs...)
}

// decodeService reads readScript's reply: the index, then the live
// instances' fields.
func decodeService(service string, reply []any, now time.Time) (catalog.Service, error) {
	out := catalog.Service{Name: service}
	if len(reply) == 0 {
		return out, fmt.Errorf("redisstore: read %s: empty reply", service)
	}
	index, _ := reply[0].(int64)
	out.Index = uint64(index)
	out.Instances = make([]catalog.Instance, 0, len(reply)-1)
	for _, r := range reply[1:] {
		in, ok, err := decodeFields(r)
		if err != nil {
			return out, err
		}
		if ok && !in.Expired(now) {
			out.Instances = append(out.Instances, in)
		}
	}
	return out, nil
}

// since is the index of services nobody remembers (1 until a removal is
// forgotten).
func (s *Store) since(ctx context.Context) (uint64, error) {
	v, err := s.client.Get(ctx, s.sinceKey()).Uint64()
	if err == redis.Nil {
		return 1, nil
	}
	if err != nil {
		return 0, unavailable("since", err)
	}
	return max(v, 1), nil
}

// Catalog implements ports.Store. One transaction on the catalog's keys,
// then one pipeline (split per slot on a Cluster) confirms each listed
// service against its own keys and reads its index.
func (s *Store) Catalog(ctx context.Context) (catalog.Catalog, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	now := s.clock.Now()
	head, err := s.catalogHead(ctx, now)
	if err != nil {
		return catalog.Catalog{}, err
	}
	return s.confirm(ctx, head, now)
}

// head is what the catalog's own keys say.
type head struct {
	cat        catalog.Catalog
	candidates []string          // names whose latest lease has not ended
	removed    map[string]uint64 // service → removal index
}

// catalogHead prunes the services whose latest lease has ended and reads
// the rest, the removed ones and the two indexes. Every key is in the
// {catalog} slot, so the transaction stays in one slot.
func (s *Store) catalogHead(ctx context.Context, now time.Time) (head, error) {
	var names *redis.StringSliceCmd
	var removed *redis.ZSliceCmd
	var index, since *redis.StringCmd
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, s.servicesKey(), "-inf", strconv.FormatInt(now.UnixMicro(), 10))
		names = p.ZRangeByScore(ctx, s.servicesKey(), liveRange(now))
		removed = p.ZRangeWithScores(ctx, s.removedKey(), 0, -1)
		index = p.Get(ctx, s.catalogIndexKey())
		since = p.Get(ctx, s.sinceKey())
		return nil
	})
	if err != nil && err != redis.Nil {
		return head{}, unavailable("catalog", err)
	}
	h := head{candidates: names.Val(), removed: map[string]uint64{}}
	h.cat.Index = max(parseIndex(index), 1)
	h.cat.Since = max(parseIndex(since), 1)
	for _, z := range removed.Val() {
		if name, ok := z.Member.(string); ok {
			h.removed[name] = uint64(z.Score)
		}
	}
	return h, nil
}

func parseIndex(cmd *redis.StringCmd) uint64 {
	v, _ := strconv.ParseUint(cmd.Val(), 10, 64)
	return v
}

// confirm keeps the candidates whose own index still holds a live
// instance, with their indexes; the others join the removed ones.
func (s *Store) confirm(ctx context.Context, h head, now time.Time) (catalog.Catalog, error) {
	counts := make([]*redis.IntCmd, len(h.candidates))
	indexes := make([]*redis.StringCmd, len(h.candidates))
	if len(h.candidates) > 0 {
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			r := liveRange(now)
			for i, name := range h.candidates {
				counts[i] = p.ZCount(ctx, s.idsKey(name), r.Min, r.Max)
				indexes[i] = p.Get(ctx, s.serviceIndexKey(name))
			}
			return nil
		})
		if err != nil && err != redis.Nil {
			return catalog.Catalog{}, unavailable("catalog", err)
		}
	}
	cat := h.cat
	for i, name := range h.candidates {
		si := catalog.ServiceIndex{Name: name, Index: max(parseIndex(indexes[i]), 1)}
		if counts[i].Val() > 0 {
			cat.Services = append(cat.Services, si)
			delete(h.removed, name)
		} else if _, ok := h.removed[name]; !ok {
			h.removed[name] = si.Index // its lease ended; the reaper has not been by yet
		}
	}
	for name, index := range h.removed {
		cat.Removed = append(cat.Removed, catalog.ServiceIndex{Name: name, Index: max(index, cat.Since)})
	}
	byName := func(list []catalog.ServiceIndex) func(i, j int) bool {
		return func(i, j int) bool { return list[i].Name < list[j].Name }
	}
	sort.Slice(cat.Services, byName(cat.Services))
	sort.Slice(cat.Removed, byName(cat.Removed))
	return cat, nil
}

// Load reads the whole catalog and every live service's instances: the
// catalog as Catalog does, then one pipeline of reads (split per slot on
// a Cluster). A replica's copy of the catalog starts from it.
func (s *Store) Load(ctx context.Context) (catalog.Catalog, []catalog.Service, error) {
	cat, err := s.Catalog(ctx)
	if err != nil {
		return cat, nil, err
	}
	// A big catalog takes more than one call's bound to read.
	ctx, cancel := context.WithTimeout(ctx, max(5*s.timeout, 5*time.Second))
	defer cancel()
	now := s.clock.Now()
	cmds := make([]*redis.Cmd, len(cat.Services))
	send := func() error {
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, si := range cat.Services {
				cmds[i] = readScript.EvalSha(ctx, p, s.readKeys(si.Name), s.readArgs(si.Name, now)...)
			}
			return nil
		})
		return err
	}
	err = send()
	if err != nil && len(cmds) > 0 && redis.HasErrorPrefix(cmds[0].Err(), "NOSCRIPT") {
		if err = readScript.Load(ctx, s.client).Err(); err == nil {
			err = send()
		}
	}
	if err != nil {
		return cat, nil, unavailable("load", err)
	}
	services := make([]catalog.Service, 0, len(cmds))
	for i, cmd := range cmds {
		reply, err := cmd.Slice()
		if err != nil {
			return cat, nil, unavailable("load", err)
		}
		svc, err := decodeService(cat.Services[i].Name, reply, now)
		if err != nil {
			return cat, nil, err
		}
		services = append(services, svc)
	}
	return cat, services, nil
}
