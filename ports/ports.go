// Package ports holds the small interfaces the core needs from the outside
// world. Adapters implement them; portstest holds their contract suites.
package ports

import (
	"context"
	"errors"
	"time"

	"github.com/vertice/vertice/domain/catalog"
)

// Errors every Store reports the same way; compare with errors.Is.
var (
	// ErrNotFound: no live instance matches (never registered, expired or deleted).
	ErrNotFound = errors.New("registry: not found")
	// ErrUnavailable: the backend cannot answer now; the caller may retry later.
	ErrUnavailable = errors.New("registry: store unavailable")
)

// Clock tells the time. Tests pass a fake one and move it by hand.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Store keeps instances and their leases. A store judges expiry by the Clock
// it was built with: an instance whose LastHeartbeat+TTL is not after
// Clock.Now() is gone for every method.
type Store interface {
	// Put stores inst, replacing the instance with the same service name and
	// instance ID. created is true when no live instance had that key.
	Put(ctx context.Context, inst catalog.Instance) (created bool, err error)
	// Renew restarts the lease of a live instance at the store's Now and
	// returns it; ErrNotFound when the instance is absent or expired.
	Renew(ctx context.Context, service, instanceID string) (catalog.Instance, error)
	// Instances returns the live instances of a service in any order;
	// ErrNotFound when there are none.
	Instances(ctx context.Context, service string) ([]catalog.Instance, error)
	// Services returns the names with at least one live instance, sorted.
	Services(ctx context.Context) ([]string, error)
	// Delete removes one instance, or every instance of the service when
	// instanceID is empty, and says how many went; ErrNotFound when none.
	Delete(ctx context.Context, service, instanceID string) (int, error)
}
