package mirror

import (
	"context"

	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
)

// Put implements ports.Store: the write goes to the store, then into the
// copy at once, so this replica's next read sees it (read your writes).
func (m *Mirror) Put(ctx context.Context, in catalog.Instance) (catalog.Change, error) {
	ch, err := m.next.Put(ctx, in)
	if err == nil {
		m.own(ctx, in.ServiceName, ch, func(list map[string]catalog.Instance) { list[in.InstanceID] = in })
	}
	return ch, err
}

// Renew implements ports.Store.
func (m *Mirror) Renew(ctx context.Context, service, id string) (catalog.Instance, error) {
	in, err := m.next.Renew(ctx, service, id)
	if err == nil {
		m.table.Renewed(service, id, in.LastHeartbeat)
	}
	return in, err
}

// Delete implements ports.Store.
func (m *Mirror) Delete(ctx context.Context, service, id string) (catalog.Change, error) {
	ch, err := m.next.Delete(ctx, service, id)
	if err == nil {
		m.own(ctx, service, ch, func(list map[string]catalog.Instance) {
			if id == "" {
				clear(list)
			} else {
				delete(list, id)
			}
		})
	}
	return ch, err
}

// own applies this replica's write to the copy. When the copy was not
// where the write started from (it has not seen another replica's change
// yet), the service is read again instead.
func (m *Mirror) own(ctx context.Context, service string, ch catalog.Change, edit func(map[string]catalog.Instance)) {
	if coherent, _, _ := m.state(); !coherent || ch.Index == 0 {
		return
	}
	if m.table.Apply(service, ch, edit) {
		return
	}
	if snap, err := m.backend.Service(ctx, service); err == nil {
		m.table.Replace(snap)
	}
}

// Service implements ports.Store: from the copy while it is coherent,
// else from the store, else (the store unreachable) from the copy as it
// last heard from the store, for up to StaleFor. A read from the store
// also goes into the copy, so a replica that never loaded the whole
// catalog (Redis went away just after it started) still has what it
// served to stand in.
func (m *Mirror) Service(ctx context.Context, service string) (catalog.Service, error) {
	coherent, staleOK, _ := m.state()
	if coherent {
		return m.table.Service(service, m.clock.Now()), nil
	}
	snap, err := m.next.Service(ctx, service)
	switch {
	case err == nil:
		m.table.Replace(snap)
		m.heard()
	case unavailable(err) && staleOK:
		if stale, ok := m.table.Stale(service); ok {
			return stale, nil
		}
	}
	return snap, err
}

// Catalog implements ports.Store, as Service.
func (m *Mirror) Catalog(ctx context.Context) (catalog.Catalog, error) {
	coherent, staleOK, _ := m.state()
	if coherent {
		return m.table.Catalog(m.clock.Now(), false), nil
	}
	cat, err := m.next.Catalog(ctx)
	if err != nil && unavailable(err) && staleOK {
		return m.table.Catalog(m.clock.Now(), true), nil
	}
	return cat, err
}

// Reap implements ports.Reaper when the store behind does.
func (m *Mirror) Reap(ctx context.Context) error {
	if r, ok := m.next.(ports.Reaper); ok {
		return r.Reap(ctx)
	}
	return nil
}

// The waits of ports.Watcher: the copy's own while it is coherent; while
// it is not, every wait ends when it heals (its reads came from the store,
// whose changes the copy cannot see meanwhile).

// WaitService implements ports.Watcher.
func (m *Mirror) WaitService(service string, index uint64) (<-chan struct{}, func()) {
	if coherent, _, healed := m.state(); !coherent {
		return healed, func() {}
	}
	return m.table.WaitService(service, index)
}

// WaitCatalog implements ports.Watcher.
func (m *Mirror) WaitCatalog(index uint64) (<-chan struct{}, func()) {
	if coherent, _, healed := m.state(); !coherent {
		return healed, func() {}
	}
	return m.table.WaitCatalog(index)
}

// WaitAny implements ports.Watcher.
func (m *Mirror) WaitAny(index uint64) (<-chan struct{}, func()) {
	if coherent, _, healed := m.state(); !coherent {
		return healed, func() {}
	}
	return m.table.WaitAny(index)
}

var (
	_ ports.Store    = (*Mirror)(nil)
	_ ports.Watcher  = (*Mirror)(nil)
	_ ports.Reaper   = (*Mirror)(nil)
	_ ports.Listener = (*Mirror)(nil)
)
