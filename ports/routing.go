package ports

import (
	"context"
	"errors"
	"time"

	"github.com/vertice/vertice/domain/catalog"
)

// ErrBadAnswer: the registry answered, but its answer for one service
// cannot be used (larger than a client may read, not the API's JSON, no
// endpoint). It is that service's problem, not the registry's: a router
// keeps the registry's breaker closed and treats the service as failing.
var ErrBadAnswer = errors.New("registry: unusable answer")

// Directory answers which instances serve a service, as the registry sees
// them; the gateway resolves through it. Lookup returns at least one
// instance and the service's index, ErrNotFound when the registry does not
// know the service (with the index the registry gave, when it gave one),
// ErrBadAnswer (wrapped) when its answer for the service
// cannot be used, and ErrUnavailable (wrapped) when the registry could not
// be asked, so the caller can trip a breaker and fall back.
type Directory interface {
	Lookup(ctx context.Context, service string) (catalog.Service, error)
}

// ChangeFeed tells a router which services changed, so it learns of every
// change within moments instead of polling (the registry's change feed,
// docs/watch.md). Changes waits up to wait until a service changes after
// index (0: answer at once with everything), and says which; errors wrap
// ErrUnavailable.
type ChangeFeed interface {
	Changes(ctx context.Context, index uint64, wait time.Duration) (catalog.Changes, error)
}
