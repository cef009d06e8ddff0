// Package memstore is the in-memory ports.Store: one process's truth, for
// development, tests and single-replica deployments.
package memstore

import (
	"context"
	"sort"
	"sync"

	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
)

// Store keeps instances in a map guarded by one RWMutex. Expired instances
// are dropped lazily when their service is touched. The zero value is not
// usable: call New.
type Store struct {
	clock ports.Clock
	mu    sync.RWMutex
	byKey map[string]map[string]catalog.Instance // service → instance ID → instance
}

// New returns an empty store that judges expiry by clock.
func New(clock ports.Clock) *Store {
	return &Store{clock: clock, byKey: map[string]map[string]catalog.Instance{}}
}

// Put implements ports.Store.
func (s *Store) Put(_ context.Context, in catalog.Instance) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.live(in.ServiceName)
	if ids == nil {
		ids = map[string]catalog.Instance{}
		s.byKey[in.ServiceName] = ids
	}
	_, existed := ids[in.InstanceID]
	ids[in.InstanceID] = in
	return !existed, nil
}

// Renew implements ports.Store.
func (s *Store) Renew(_ context.Context, service, id string) (catalog.Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.live(service)[id]
	if !ok {
		return catalog.Instance{}, ports.ErrNotFound
	}
	in = in.Renewed(s.clock.Now())
	s.byKey[service][id] = in
	return in, nil
}

// Instances implements ports.Store.
func (s *Store) Instances(_ context.Context, service string) ([]catalog.Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.live(service)
	if len(ids) == 0 {
		return nil, ports.ErrNotFound
	}
	out := make([]catalog.Instance, 0, len(ids))
	for _, in := range ids {
		out = append(out, in)
	}
	return out, nil
}

// Services implements ports.Store.
func (s *Store) Services(context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.byKey))
	for name := range s.byKey {
		if len(s.live(name)) > 0 {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// Delete implements ports.Store.
func (s *Store) Delete(_ context.Context, service, id string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.live(service)
	if id == "" {
		if len(ids) == 0 {
			return 0, ports.ErrNotFound
		}
		delete(s.byKey, service)
		return len(ids), nil
	}
	if _, ok := ids[id]; !ok {
		return 0, ports.ErrNotFound
	}
	delete(ids, id)
	if len(ids) == 0 {
		delete(s.byKey, service)
	}
	return 1, nil
}

// live prunes the expired instances of service and returns what is left
// (nil when nothing). Callers hold the write lock.
func (s *Store) live(service string) map[string]catalog.Instance {
	ids := s.byKey[service]
	now := s.clock.Now()
	for id, in := range ids {
		if in.Expired(now) {
			delete(ids, id)
		}
	}
	if len(ids) == 0 {
		delete(s.byKey, service)
		return nil
	}
	return ids
}

var _ ports.Store = (*Store)(nil)
