// Package memstore is the in-memory ports.Store: one process's truth, for
// development, tests and single-replica deployments. It is a view.Table,
// so it is also the ports.Watcher of its own changes.
package memstore

import (
	"context"
	"sync/atomic"

	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/view"
	"github.com/vertice/vertice/ports"
)

// Store keeps the catalog in a view.Table. The zero value is not usable:
// call New.
type Store struct {
	clock ports.Clock
	*view.Table
	forgotAt     atomic.Int64 // Unix nanoseconds of the last Forget
	maxInstances int
}

// Option tunes New.
type Option func(*Store)

// WithMaxInstances bounds the live instances of one service (see
// ports.Store.Put); zero or less means no bound.
func WithMaxInstances(n int) Option { return func(s *Store) { s.maxInstances = n } }

// New returns an empty store that judges expiry by clock. Its indexes
// start at the clock's time (catalog.NextIndex), so a restarted registry
// does not hand out indexes below its previous life's.
func New(clock ports.Clock, opts ...Option) *Store {
	s := &Store{clock: clock, Table: view.New(catalog.NextIndex(0, clock.Now()))}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Put implements ports.Store.
func (s *Store) Put(_ context.Context, in catalog.Instance) (catalog.Change, error) {
	ch, ok := s.Table.PutWithin(in, s.clock.Now(), s.maxInstances)
	if !ok {
		return ch, &ports.LimitError{Service: in.ServiceName, Limit: s.maxInstances}
	}
	return ch, nil
}

// Renew implements ports.Store.
func (s *Store) Renew(_ context.Context, service, id string) (catalog.Instance, error) {
	in, ok := s.Table.Renew(service, id, s.clock.Now())
	if !ok {
		return catalog.Instance{}, ports.ErrNotFound
	}
	return in, nil
}

// Service implements ports.Store.
func (s *Store) Service(_ context.Context, service string) (catalog.Service, error) {
	return s.Table.Service(service, s.clock.Now()), nil
}

// Catalog implements ports.Store.
func (s *Store) Catalog(context.Context) (catalog.Catalog, error) {
	return s.Table.Catalog(s.clock.Now(), false), nil
}

// Delete implements ports.Store.
func (s *Store) Delete(_ context.Context, service, id string) (catalog.Change, error) {
	ch := s.Table.Delete(service, id, s.clock.Now())
	if ch.Removed == 0 {
		return ch, ports.ErrNotFound
	}
	return ch, nil
}

// Reap implements ports.Reaper: ended leases leave, and removals older
// than view.TombstoneTTL are forgotten.
func (s *Store) Reap(context.Context) error {
	now := s.clock.Now()
	s.Table.Expire(now)
	if last := s.forgotAt.Load(); now.UnixNano()-last >= int64(view.ForgetEvery) && s.forgotAt.CompareAndSwap(last, now.UnixNano()) {
		s.Table.Forget(catalog.NextIndex(0, now.Add(-view.TombstoneTTL)))
	}
	return nil
}

var (
	_ ports.Store   = (*Store)(nil)
	_ ports.Watcher = (*Store)(nil)
	_ ports.Reaper  = (*Store)(nil)
)
