// Package registry holds the registry's use cases over ports.Store:
// Register, Heartbeat, Lookup, List, Changes and Deregister. Reads may
// block until an index moves (Block), as Consul's blocking queries do.
package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
)

// DefaultTTL is the seed's lease: 60 s without a heartbeat and an instance is gone.
const DefaultTTL = 60 * time.Second

// Service runs the use cases. Build it with New.
type Service struct {
	store  ports.Store
	watch  ports.Watcher
	clock  ports.Clock
	ttl    time.Duration
	limits catalog.Limits
}

// Option tunes New.
type Option func(*Service)

// WithLimits sets what one registration may carry (zero fields: the
// defaults). The number of instances per service is the store's to bound,
// atomically with the write.
func WithLimits(l catalog.Limits) Option { return func(s *Service) { s.limits = l } }

// New returns the use cases over store. ttl zero means DefaultTTL. watch
// tells blocking reads when indexes move; nil means reads never block.
func New(store ports.Store, watch ports.Watcher, clock ports.Clock, ttl time.Duration, opts ...Option) *Service {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	s := &Service{store: store, watch: watch, clock: clock, ttl: ttl}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Now is the clock the use cases judge leases by, for rendering ttl_remaining.
func (s *Service) Now() time.Time { return s.clock.Now() }

// Register validates r and stores a fresh lease. created is false when a
// live instance with the same key was replaced.
func (s *Service) Register(ctx context.Context, r catalog.Registration) (catalog.Instance, bool, error) {
	r, err := r.NormalizeWithin(s.limits)
	if err != nil {
		return catalog.Instance{}, false, err
	}
	in := catalog.NewInstance(r, s.clock.Now(), s.ttl)
	ch, err := s.store.Put(ctx, in)
	if err != nil {
		return catalog.Instance{}, false, err
	}
	return in, ch.Created, nil
}

// Heartbeat renews one instance, or, when instanceID is empty (the v1
// API's clients send only service_name), every live instance of the
// service that was registered without an instance ID (DefaultID): an
// instance registered with its own ID is renewed only by heartbeats that
// name it, so a name-only heartbeat cannot keep another sidecar's crashed
// instance alive. It returns the renewed instances, best first;
// ports.ErrNotFound tells the caller to register again.
func (s *Service) Heartbeat(ctx context.Context, service, instanceID string) ([]catalog.Instance, error) {
	if err := validateKey(service, instanceID); err != nil {
		return nil, err
	}
	if instanceID != "" {
		in, err := s.store.Renew(ctx, service, instanceID)
		if err != nil {
			return nil, notFound(err, service, instanceID)
		}
		return []catalog.Instance{in}, nil
	}
	return s.renewAll(ctx, service)
}

func (s *Service) renewAll(ctx context.Context, service string) ([]catalog.Instance, error) {
	snap, err := s.store.Service(ctx, service)
	if err != nil {
		return nil, err
	}
	renewed := make([]catalog.Instance, 0, len(snap.Instances))
	for _, in := range snap.Instances {
		if !in.DefaultID {
			continue // its owner heartbeats it by ID
		}
		r, err := s.store.Renew(ctx, service, in.InstanceID)
		if errors.Is(err, ports.ErrNotFound) {
			continue // expired or deleted between the two calls
		}
		if err != nil {
			return nil, err
		}
		renewed = append(renewed, r)
	}
	if len(renewed) == 0 {
		return nil, &NotFoundError{Service: service, Index: snap.Index, NamedOnly: len(snap.Instances) > 0}
	}
	catalog.SortPreferred(renewed)
	return renewed, nil
}

// Lookup returns the live instances of a service, best first (the v1
// API's single-object answer is the first), and its index. A service with
// no live instance is a *NotFoundError that carries the index too.
//
// Leases are the store's to judge: stores drop expired instances, and a
// store serving its last good read through a backend outage keeps them on
// purpose (STALE_CACHE_TTL bounds that, not the lease: no heartbeat can
// land meanwhile).
func (s *Service) Lookup(ctx context.Context, service string, b Block) (catalog.Service, error) {
	if err := catalog.ValidateServiceName(service); err != nil {
		return catalog.Service{}, err
	}
	var snap catalog.Service
	err := s.block(ctx, b, func() (uint64, error) {
		var err error
		snap, err = s.store.Service(ctx, service)
		return snap.Index, err
	}, func(index uint64) (<-chan struct{}, func()) { return s.watch.WaitService(service, index) })
	if err != nil {
		return catalog.Service{}, err
	}
	if !snap.Found() {
		return catalog.Service{}, &NotFoundError{Service: service, Index: snap.Index}
	}
	catalog.SortPreferred(snap.Instances)
	return snap, nil
}

// List returns the catalog: the live services, sorted, with the catalog's
// index, which moves when a service appears or disappears.
func (s *Service) List(ctx context.Context, b Block) (catalog.Catalog, error) {
	var cat catalog.Catalog
	err := s.block(ctx, b, func() (uint64, error) {
		var err error
		cat, err = s.store.Catalog(ctx)
		return cat.Index, err
	}, s.watchCatalog)
	return cat, err
}

func (s *Service) watchCatalog(index uint64) (<-chan struct{}, func()) {
	return s.watch.WaitCatalog(index)
}

// All returns every live instance of every service, grouped by service in
// name order and best first within a service (for service discovery).
// A service that expires between the listing and its lookup is skipped.
func (s *Service) All(ctx context.Context) ([]catalog.Instance, error) {
	cat, err := s.store.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	var all []catalog.Instance
	for _, si := range cat.Services {
		snap, err := s.store.Service(ctx, si.Name)
		if err != nil {
			return nil, err
		}
		catalog.SortPreferred(snap.Instances)
		all = append(all, snap.Instances...)
	}
	return all, nil
}

// Deregister removes one instance, or all instances of the service when
// instanceID is empty, and says how many went.
func (s *Service) Deregister(ctx context.Context, service, instanceID string) (int, error) {
	if err := validateKey(service, instanceID); err != nil {
		return 0, err
	}
	ch, err := s.store.Delete(ctx, service, instanceID)
	return ch.Removed, notFound(err, service, instanceID)
}

// NotFoundError says which service (and instance) has no live lease. It
// unwraps to ports.ErrNotFound. Index is the service's index when known
// (lookups), so a client can wait for the service to appear.
type NotFoundError struct {
	Service    string
	InstanceID string
	Index      uint64
	// NamedOnly: a name-only heartbeat found only instances registered
	// with their own instance_id, which it does not renew.
	NamedOnly bool
}

func (e *NotFoundError) Error() string {
	if e.NamedOnly {
		return fmt.Sprintf("service %q has no instance registered without an instance_id; "+
			"a heartbeat must name the instance_id it registered with", e.Service)
	}
	if e.InstanceID != "" {
		return fmt.Sprintf("instance %q of service %q is not registered (never registered, expired or deregistered)",
			e.InstanceID, e.Service)
	}
	return fmt.Sprintf("service %q is not registered (never registered, expired or deregistered)", e.Service)
}

// Unwrap lets errors.Is(err, ports.ErrNotFound) hold.
func (e *NotFoundError) Unwrap() error { return ports.ErrNotFound }

func notFound(err error, service, instanceID string) error {
	if errors.Is(err, ports.ErrNotFound) {
		return &NotFoundError{Service: service, InstanceID: instanceID}
	}
	return err
}

func validateKey(service, instanceID string) error {
	if err := catalog.ValidateServiceName(service); err != nil {
		return err
	}
	if instanceID == "" {
		return nil
	}
	return catalog.ValidateInstanceID(instanceID)
}
