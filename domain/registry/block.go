package registry

import (
	"context"

	"github.com/vertice/vertice/domain/catalog"
)

// Block says whether a read may wait: with Index set and equal to the
// current index, the read waits until the index moves or Until closes,
// then answers with what is current. Otherwise it answers at once. The
// caller owns the wait's length (the HTTP adapter: wait plus jitter) and
// closes Until on shutdown too, so no request outlives the process.
type Block struct {
	Index uint64
	Until <-chan struct{}
}

// block reads until the index read differs from b.Index or b.Until
// closes. read returns the index of what it read; wait watches an index.
// A read that fails ends the wait with its error.
func (s *Service) block(ctx context.Context, b Block, read func() (uint64, error),
	wait func(uint64) (<-chan struct{}, func())) error {
	for {
		index, err := read()
		if err != nil || b.Index == 0 || index != b.Index || b.Until == nil || s.watch == nil {
			return err
		}
		changed, release := wait(index)
		select {
		case <-changed:
			release()
		case <-b.Until:
			release()
			return nil
		case <-ctx.Done():
			release()
			return ctx.Err()
		}
	}
}

// Changes answers the change feed: one request that waits until any of
// set (or any service, when set is empty) changes after b.Index, and says
// which. A router watching a thousand services holds one of these rather
// than a thousand blocking lookups.
func (s *Service) Changes(ctx context.Context, set []string, b Block) (catalog.Changes, error) {
	for _, name := range set {
		if err := catalog.ValidateServiceName(name); err != nil {
			return catalog.Changes{}, err
		}
	}
	var only map[string]bool // nil: every service
	if len(set) > 0 {
		only = make(map[string]bool, len(set))
		for _, name := range set {
			only[name] = true
		}
	}
	var cat catalog.Catalog
	var global uint64 // what WaitAny watches: any change anywhere
	err := s.block(ctx, b, func() (uint64, error) {
		var err error
		cat, err = s.store.Catalog(ctx)
		global = cat.MaxIndex()
		return feedIndex(cat, only), err
	}, func(uint64) (<-chan struct{}, func()) { return s.watch.WaitAny(global) })
	if err != nil {
		return catalog.Changes{}, err
	}
	return changesAfter(cat, only, b.Index), nil
}

// feedIndex is the highest index among only's services (all when nil); a
// service the catalog does not know counts with index cat.Since, like a
// lookup's.
func feedIndex(cat catalog.Catalog, only map[string]bool) uint64 {
	if only == nil {
		return cat.MaxIndex()
	}
	m := max(cat.Since, 1)
	for _, list := range [][]catalog.ServiceIndex{cat.Services, cat.Removed} {
		for _, si := range list {
			if only[si.Name] {
				m = max(m, si.Index)
			}
		}
	}
	return m
}

func changesAfter(cat catalog.Catalog, only map[string]bool, after uint64) catalog.Changes {
	in := func(name string) bool { return only == nil || only[name] }
	out := catalog.Changes{Index: feedIndex(cat, only), Complete: after < cat.Since}
	for _, si := range cat.Services {
		if in(si.Name) && (out.Complete || si.Index > after) {
			out.Services = append(out.Services, si)
		}
	}
	if out.Complete {
		return out
	}
	for _, si := range cat.Removed {
		if in(si.Name) && si.Index > after {
			out.Removed = append(out.Removed, si)
		}
	}
	return out
}
