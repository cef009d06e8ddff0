// Package registry holds the registry's use cases over ports.Store:
// Register, Heartbeat, Lookup, List and Deregister.
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
	store ports.Store
	clock ports.Clock
	ttl   time.Duration
}

// New returns the use cases over store. ttl zero means DefaultTTL.
func New(store ports.Store, clock ports.Clock, ttl time.Duration) *Service {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Service{store: store, clock: clock, ttl: ttl}
}

// Now is the clock the use cases judge leases by, for rendering ttl_remaining.
func (s *Service) Now() time.Time { return s.clock.Now() }

// Register validates r and stores a fresh lease. created is false when a
// live instance with the same key was replaced.
func (s *Service) Register(ctx context.Context, r catalog.Registration) (catalog.Instance, bool, error) {
	r, err := r.Normalize()
	if err != nil {
		return catalog.Instance{}, false, err
	}
	in := catalog.NewInstance(r, s.clock.Now(), s.ttl)
	created, err := s.store.Put(ctx, in)
	if err != nil {
		return catalog.Instance{}, false, err
	}
	return in, created, nil
}

// Heartbeat renews one instance, or every live instance of the service when
// instanceID is empty (the seed's clients send only service_name). It
// returns the renewed instances, best first; ports.ErrNotFound tells the
// caller to register again.
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
	list, err := s.store.Instances(ctx, service)
	if err != nil {
		return nil, notFound(err, service, "")
	}
	renewed := make([]catalog.Instance, 0, len(list))
	for _, in := range list {
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
		return nil, &NotFoundError{Service: service}
	}
	catalog.SortPreferred(renewed)
	return renewed, nil
}

// Lookup returns the live instances of a service, best first: the seed's
// single-object answer is the first.
func (s *Service) Lookup(ctx context.Context, service string) ([]catalog.Instance, error) {
	if err := catalog.ValidateServiceName(service); err != nil {
		return nil, err
	}
	list, err := s.store.Instances(ctx, service)
	if err != nil {
		return nil, notFound(err, service, "")
	}
	// Leases are the store's to judge: stores drop expired instances, and
	// a resilient store serving its stale cache through a backend outage
	// keeps them on purpose (STALE_CACHE_TTL bounds that, not the lease:
	// no heartbeat can land meanwhile). Filtering here emptied lookups
	// one lease after Redis went away.
	if len(list) == 0 {
		return nil, &NotFoundError{Service: service}
	}
	catalog.SortPreferred(list)
	return list, nil
}

// List returns the names of services with a live instance, sorted.
func (s *Service) List(ctx context.Context) ([]string, error) {
	return s.store.Services(ctx)
}

// All returns every live instance of every service, grouped by service in
// name order and best first within a service (for service discovery).
// A service that expires between the listing and its lookup is skipped.
func (s *Service) All(ctx context.Context) ([]catalog.Instance, error) {
	names, err := s.store.Services(ctx)
	if err != nil {
		return nil, err
	}
	var all []catalog.Instance
	for _, name := range names {
		list, err := s.Lookup(ctx, name)
		if errors.Is(err, ports.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		all = append(all, list...)
	}
	return all, nil
}

// Deregister removes one instance, or all instances of the service when
// instanceID is empty, and says how many went.
func (s *Service) Deregister(ctx context.Context, service, instanceID string) (int, error) {
	if err := validateKey(service, instanceID); err != nil {
		return 0, err
	}
	n, err := s.store.Delete(ctx, service, instanceID)
	return n, notFound(err, service, instanceID)
}

// NotFoundError says which service (and instance) has no live lease. It
// unwraps to ports.ErrNotFound.
type NotFoundError struct {
	Service    string
	InstanceID string
}

func (e *NotFoundError) Error() string {
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
