// Package ports holds the small interfaces the core needs from the outside
// world. Adapters implement them; portstest holds their contract suites.
package ports

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vertice/vertice/domain/catalog"
)

// Errors every Store reports the same way; compare with errors.Is.
var (
	// ErrNotFound: no live instance matches (never registered, expired or deleted).
	ErrNotFound = errors.New("registry: not found")
	// ErrUnavailable: the backend cannot answer now; the caller may retry later.
	ErrUnavailable = errors.New("registry: store unavailable")
	// ErrLimit: the write would take a service past a bound the store was
	// built with (a *LimitError says which).
	ErrLimit = errors.New("registry: limit reached")
)

// LimitError refuses a Put that would give a service more live instances
// than Limit. It unwraps to ErrLimit.
type LimitError struct {
	Service string
	Limit   int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("service %q already has %d live instances, the most one service may have; "+
		"deregister one, or register again with the instance_id of a live one", e.Service, e.Limit)
}

// Unwrap lets errors.Is(err, ErrLimit) hold.
func (e *LimitError) Unwrap() error { return ErrLimit }

// Clock tells the time. Tests pass a fake one and move it by hand.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Store keeps instances, their leases and the catalog's indexes (see
// domain/catalog). A store judges expiry by the Clock it was built with:
// an instance whose LastHeartbeat+TTL is not after Clock.Now() is gone for
// every method, and a store that keeps its own truth removes it (moving
// its service's index) within about a second of its lease's end.
type Store interface {
	// Put stores inst, replacing the instance with the same service name and
	// instance ID; the service's index moves. Change.Created is true when no
	// live instance had that key. A store built with a bound on instances
	// per service refuses, with a *LimitError and storing nothing, a Put
	// that would add a live instance beyond it (replacing one is allowed);
	// it checks atomically with the write.
	Put(ctx context.Context, inst catalog.Instance) (catalog.Change, error)
	// Renew restarts the lease of a live instance at the store's Now and
	// returns it; ErrNotFound when the instance is absent or expired. No
	// index moves.
	Renew(ctx context.Context, service, instanceID string) (catalog.Instance, error)
	// Service returns the live instances of a service in any order, and its
	// index; a service without a live instance has none (not an error) and
	// still an index, so a watcher can wait for it to appear.
	Service(ctx context.Context, service string) (catalog.Service, error)
	// Catalog returns the live services with their indexes, the removed
	// ones the store remembers, and the catalog's index.
	Catalog(ctx context.Context) (catalog.Catalog, error)
	// Delete removes one instance, or every instance of the service when
	// instanceID is empty, and says how many went (Change.Removed);
	// ErrNotFound when none.
	Delete(ctx context.Context, service, instanceID string) (catalog.Change, error)
}

// Watcher tells when indexes move, so blocking queries wait without
// polling. Each Wait returns a channel closed once the watched index
// differs from the one given (at once if it already does) and a release
// the caller calls when it stops waiting.
type Watcher interface {
	// WaitService watches one service's index.
	WaitService(service string, index uint64) (<-chan struct{}, func())
	// WaitCatalog watches the catalog's index (services appearing or
	// disappearing).
	WaitCatalog(index uint64) (<-chan struct{}, func())
	// WaitAny watches Catalog().MaxIndex(): any change anywhere.
	WaitAny(index uint64) (<-chan struct{}, func())
}

// Reaper removes the instances whose lease has ended, moving their
// services' indexes, so expiry wakes watchers like any other change. The
// registry calls it about every ReapInterval on stores that keep their own
// truth.
type Reaper interface {
	Reap(ctx context.Context) error
}

// ReapInterval is how often the registry reaps: an instance leaves every
// answer, and its service's index moves, within about this long of its
// lease's end (the promise is one second).
const ReapInterval = 250 * time.Millisecond
