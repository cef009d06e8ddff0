package ports

import (
	"context"

	"github.com/vertice/vertice/domain/catalog"
)

// Directory answers which instances serve a service, as the registry sees
// them; the gateway resolves through it. Lookup returns at least one
// instance, ErrNotFound when the registry does not know the service, and
// ErrUnavailable (wrapped) when the registry could not be asked or answered
// badly, so the caller can trip a breaker and fall back.
type Directory interface {
	Lookup(ctx context.Context, service string) ([]catalog.Instance, error)
}
