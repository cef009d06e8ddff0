package registry

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/vertice/vertice/domain/catalog"
)

// Use cases for clients that bring their own lease length and report
// their health themselves (Consul's TTL checks).

// The bounds of a lease a client may ask for (RegisterFor). Below a
// second the reaper (ports.ReapInterval) could not keep the promise that
// an ended lease leaves within a second; above an hour a crashed
// instance would stay listed too long to be a lease.
const (
	MinTTL = time.Second
	MaxTTL = time.Hour
)

// ValidateTTL checks a lease length a client asked for.
func ValidateTTL(ttl time.Duration) error {
	if ttl < MinTTL || ttl > MaxTTL {
		return &catalog.FieldError{Field: "ttl",
			Rule: fmt.Sprintf("%s must be from %s to %s", ttl, MinTTL, MaxTTL)}
	}
	return nil
}

// RegisterFor is Register with a lease of ttl (MinTTL to MaxTTL) instead
// of the registry's; zero means the registry's.
func (s *Service) RegisterFor(ctx context.Context, r catalog.Registration, ttl time.Duration) (catalog.Instance, bool, error) {
	if ttl == 0 {
		return s.Register(ctx, r)
	}
	if err := ValidateTTL(ttl); err != nil {
		return catalog.Instance{}, false, err
	}
	r, err := r.NormalizeWithin(s.limits)
	if err != nil {
		return catalog.Instance{}, false, err
	}
	in := catalog.NewInstance(r, s.clock.Now(), ttl)
	ch, err := s.store.Put(ctx, in)
	if err != nil {
		return catalog.Instance{}, false, err
	}
	return in, ch.Created, nil
}

// Report renews one instance and records the health its owner reports:
// status is catalog.StatusHealthy, StatusWarning or StatusUnhealthy, kept
// in the metadata under catalog.StatusKey as the sidecar keeps it. When
// the status does not change it is a plain renewal (no index moves, no
// watcher wakes); when it does, the instance is stored again with the
// new status and the renewed lease (its index moves).
//
// The renewal and the new status are two writes: a deregistration that
// lands between them is undone until the lease ends. Clients report and
// deregister one after the other, so only two owners of one instance
// racing each other meet this.
func (s *Service) Report(ctx context.Context, service, instanceID, status string) (catalog.Instance, error) {
	if err := validateKey(service, instanceID); err != nil {
		return catalog.Instance{}, err
	}
	if instanceID == "" {
		return catalog.Instance{}, &catalog.FieldError{Field: "instance_id", Rule: "is required"}
	}
	switch status {
	case catalog.StatusHealthy, catalog.StatusWarning, catalog.StatusUnhealthy:
	default:
		return catalog.Instance{}, &catalog.FieldError{Field: "status",
			Rule: fmt.Sprintf("%q must be %s, %s or %s", status, catalog.StatusHealthy, catalog.StatusWarning, catalog.StatusUnhealthy)}
	}
	in, err := s.store.Renew(ctx, service, instanceID)
	if err != nil {
		return catalog.Instance{}, notFound(err, service, instanceID)
	}
	if StatusOf(in) == status {
		return in, nil
	}
	in.Metadata = maps.Clone(in.Metadata)
	if in.Metadata == nil {
		in.Metadata = map[string]string{}
	}
	in.Metadata[catalog.StatusKey] = status
	if in.Registration, err = in.Registration.NormalizeWithin(s.limits); err != nil {
		return catalog.Instance{}, err
	}
	if _, err := s.store.Put(ctx, in); err != nil {
		return catalog.Instance{}, err
	}
	return in, nil
}

// StatusOf is the health an instance reports: StatusUnhealthy,
// StatusWarning, or StatusHealthy for anything else (an instance that
// reports nothing is presumed healthy, as in v1).
func StatusOf(in catalog.Instance) string {
	switch st := in.Metadata[catalog.StatusKey]; st {
	case catalog.StatusUnhealthy, catalog.StatusWarning:
		return st
	}
	return catalog.StatusHealthy
}

// Locate finds the live instances with instanceID in every service, in
// service name order: a client that knows an instance by its ID alone
// (Consul's agent API, where service IDs are unique) finds its service.
// It reads every live service, so callers remember what it found.
func (s *Service) Locate(ctx context.Context, instanceID string) ([]catalog.Instance, error) {
	if err := catalog.ValidateInstanceID(instanceID); err != nil {
		return nil, err
	}
	cat, err := s.store.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	var found []catalog.Instance
	for _, si := range cat.Services {
		snap, err := s.store.Service(ctx, si.Name)
		if err != nil {
			return nil, err
		}
		for _, in := range snap.Instances {
			if in.InstanceID == instanceID {
				found = append(found, in)
			}
		}
	}
	return found, nil
}
