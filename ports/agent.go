package ports

import (
	"context"
	"errors"
	"time"

	"github.com/vertice/vertice/domain/catalog"
)

// ErrRejected: the registry refused the request itself (bad token, invalid
// body). Retrying the same request will not help until someone fixes the
// configuration, so the sidecar logs it louder than an outage.
var ErrRejected = errors.New("registry: request rejected")

// RegistryClient is what the sidecar needs from the registry API. Errors
// wrap ErrNotFound (the registry does not know the instance), ErrRejected
// or ErrUnavailable (network failure, timeout, 5xx).
type RegistryClient interface {
	// Register stores r, replacing the instance with the same instance ID
	// (and so its metadata) and restarting its lease.
	Register(ctx context.Context, r catalog.Registration) error
	// Heartbeat renews one instance's lease; ErrNotFound means register again.
	Heartbeat(ctx context.Context, service, instanceID string) error
	// Deregister removes one instance at once instead of letting it expire.
	Deregister(ctx context.Context, service, instanceID string) error
}

// HealthProbe asks the service once whether it is healthy: nil means yes.
type HealthProbe interface {
	Check(ctx context.Context) error
}

// Sleeper waits. The sidecar's loops sleep through it so tests can run
// minutes of schedule in microseconds with a fake one.
type Sleeper interface {
	// Sleep waits d, or returns ctx.Err() as soon as ctx ends.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemSleeper sleeps on the real clock.
type SystemSleeper struct{}

// Sleep waits d or until ctx ends.
func (SystemSleeper) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
