// Package mirror keeps a registry replica's copy of a shared catalog (the
// Redis store) in memory, coherent with it through the store's change
// notices, so the replica answers lookups, lists and blocking queries
// from memory and wakes its watchers within milliseconds of a write made
// through any replica.
//
// The copy is exact while it is coherent: it was loaded whole after the
// notices' subscription last held, and every notice since has been
// applied, in order. When the subscription is lost the copy stops being
// coherent: reads go to the store (so they are never staler than the
// store), watchers wait for the copy to heal, and if the store cannot be
// reached either, reads are answered from the copy as it was when it was
// lost, for up to StaleFor (STALE_CACHE_TTL). When the subscription is
// back the copy is loaded whole again, and every watcher re-checks its
// index.
package mirror

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/view"
	"github.com/vertice/vertice/ports"
)

// DefaultStaleFor is the v1 API's "60 s of stale data is acceptable".
const DefaultStaleFor = 60 * time.Second

// Backend is what the copy is read from in the background: the shared
// store itself (not through the breaker, which judges clients' calls).
type Backend interface {
	Service(ctx context.Context, name string) (catalog.Service, error)
	Load(ctx context.Context) (catalog.Catalog, []catalog.Service, error)
}

// Settings tune a Mirror. Zero values: StaleFor DefaultStaleFor, Logger
// discards.
type Settings struct {
	// StaleFor bounds how long after the copy was lost its content may
	// stand in for a store that cannot be reached.
	StaleFor time.Duration
	Logger   *slog.Logger
}

// Mirror is a ports.Store and ports.Watcher. Build it with New and Run it.
type Mirror struct {
	next     ports.Store // clients' writes, and their reads while not coherent
	backend  Backend
	notifier ports.Notifier
	clock    ports.Clock
	staleFor time.Duration
	log      *slog.Logger
	table    *view.Table

	mu        sync.Mutex
	coherent  bool
	lostAt    time.Time     // when coherence was lost; zero before the first load
	healed    chan struct{} // closed when the copy becomes coherent
	queue     batch         // notices not applied yet
	gen       uint64        // moves on every Up and Down: a load heals only its own session
	loadedGen uint64        // the session whose load is applied, awaiting one more batch
	wake      chan struct{} // pokes the worker
}

// batch is the work the worker takes at once.
type batch struct {
	gen      uint64            // the session the notices came in
	load     bool              // read everything again
	services map[string]uint64 // services to read again, with the index announced
	renewals []ports.Notice
	catalog  uint64 // the catalog index announced
	since    uint64 // removals forgotten up to this index
}

// New returns a copy of backend, fed by notifier, whose clients write and
// read (while not coherent) through next.
func New(next ports.Store, backend Backend, notifier ports.Notifier, clock ports.Clock, s Settings) *Mirror {
	if s.StaleFor <= 0 {
		s.StaleFor = DefaultStaleFor
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	return &Mirror{
		next: next, backend: backend, notifier: notifier, clock: clock, staleFor: s.StaleFor, log: s.Logger,
		table:  view.New(1),
		healed: make(chan struct{}),
		wake:   make(chan struct{}, 1),
	}
}

// Coherent reports whether the copy is exact now (for /health and metrics).
func (m *Mirror) Coherent() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.coherent
}

// Run subscribes to the notices and applies them until ctx ends.
func (m *Mirror) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.notifier.Listen(ctx, m)
	}()
	m.work(ctx)
	wg.Wait()
}

// Up implements ports.Listener: the subscription holds, so a load now
// misses nothing that follows.
func (m *Mirror) Up() {
	m.mu.Lock()
	m.gen++
	m.queue = batch{gen: m.gen, load: true}
	m.mu.Unlock()
	m.poke()
}

// Down implements ports.Listener.
func (m *Mirror) Down(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	m.queue = batch{gen: m.gen}
	if !m.coherent {
		return
	}
	m.coherent, m.lostAt, m.healed = false, m.clock.Now(), make(chan struct{})
	m.log.Warn("change notifications lost: reads go to the store until they are back", "error", errString(err))
}

// Notice implements ports.Listener: notices queue for the worker, which
// applies them in order.
func (m *Mirror) Notice(n ports.Notice) {
	m.mu.Lock()
	q := &m.queue
	switch n.Kind {
	case ports.ServiceChanged:
		if q.services == nil {
			q.services = map[string]uint64{}
		}
		q.services[n.Service] = max(q.services[n.Service], n.Index)
	case ports.InstanceRenewed:
		q.renewals = append(q.renewals, n)
	case ports.CatalogChanged:
		q.catalog = max(q.catalog, n.Index)
	case ports.Forgotten:
		q.since = max(q.since, n.Index)
	}
	m.mu.Unlock()
	m.poke()
}

func (m *Mirror) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// work applies the queued notices, one batch at a time, until ctx ends.
func (m *Mirror) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		}
		m.mu.Lock()
		b := m.queue
		m.queue = batch{gen: m.gen}
		m.mu.Unlock()
		if err := m.apply(ctx, b); err != nil {
			if ctx.Err() == nil {
				m.retry(ctx, err)
			}
			continue
		}
		m.healAfter(b)
	}
}

// healAfter makes the copy coherent once it has applied a load and then
// every notice that had arrived by the time the load was applied: a
// notice queued during the load may announce a change the load did not
// read yet.
func (m *Mirror) healAfter(b batch) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case b.gen != m.gen || m.coherent:
	case b.load && m.queue.empty():
		m.heal()
	case b.load:
		m.loadedGen = b.gen // heal after the next batch
		m.poke()
	case m.loadedGen == b.gen:
		m.heal()
	}
}

func (b batch) empty() bool {
	return !b.load && len(b.services) == 0 && len(b.renewals) == 0 && b.catalog == 0 && b.since == 0
}

// apply brings the table up to date with b: the services announced are
// read again before the catalog index moves, so a watcher woken by the
// catalog finds the services that made it move.
func (m *Mirror) apply(ctx context.Context, b batch) error {
	if b.load {
		cat, services, err := m.backend.Load(ctx)
		if err != nil {
			return err
		}
		m.table.Reset(cat, services)
	}
	for name, index := range b.services {
		if m.table.Index(name) >= index {
			continue // this replica's own write, applied already
		}
		snap, err := m.backend.Service(ctx, name)
		if err != nil {
			return err
		}
		m.table.Replace(snap)
	}
	for _, n := range b.renewals {
		m.table.Renewed(n.Service, n.InstanceID, n.At)
	}
	m.table.SetCatalog(b.catalog)
	if b.since > 0 {
		m.table.SetSince(b.since)
	}
	return nil
}

// retry handles a failed read: a notice may be lost, so the copy is not
// coherent any more; it is loaded whole again after a pause, if the
// subscription still holds by then (otherwise Up will ask for it).
func (m *Mirror) retry(ctx context.Context, err error) {
	m.mu.Lock()
	wasCoherent := m.coherent
	if wasCoherent {
		m.coherent, m.lostAt, m.healed = false, m.clock.Now(), make(chan struct{})
	}
	m.mu.Unlock()
	m.log.Warn("cannot read the store to follow a change: reloading", "error", err.Error(), "was_coherent", wasCoherent)
	time.AfterFunc(500*time.Millisecond, func() {
		if ctx.Err() != nil {
			return
		}
		m.mu.Lock()
		m.queue.load = true // for the session current then
		m.mu.Unlock()
		m.poke()
	})
}

// heal makes the copy coherent. Callers hold mu, and have checked that
// the subscription was not lost (or renewed) since the load's session
// began: notices may have been missed then, and the next Up loads again.
func (m *Mirror) heal() {
	m.coherent = true
	close(m.healed)
	m.log.Info("catalog copy loaded: following change notifications")
}

// heard records a read from the store while the copy is not coherent:
// what it read may stand in for the store for StaleFor from now.
func (m *Mirror) heard() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.coherent {
		m.lostAt = m.clock.Now()
	}
}

// state says whether the copy is coherent and, if not, whether it may
// stand in for the store, and returns the wait for coherence.
func (m *Mirror) state() (coherent bool, staleOK bool, healed <-chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ok := !m.lostAt.IsZero() && m.clock.Now().Sub(m.lostAt) < m.staleFor
	return m.coherent, ok, m.healed
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// unavailable reports whether err means the store could not answer.
func unavailable(err error) bool { return errors.Is(err, ports.ErrUnavailable) }
