package ginapi_test

import (
	"context"
	"fmt"

	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
)

// downStore fails every call the way an unreachable backend does.
type downStore struct{}

var errDown = fmt.Errorf("dial tcp 10.0.0.1:6379: %w", ports.ErrUnavailable)

func (downStore) Put(context.Context, catalog.Instance) (bool, error) { return false, errDown }
func (downStore) Renew(context.Context, string, string) (catalog.Instance, error) {
	return catalog.Instance{}, errDown
}
func (downStore) Instances(context.Context, string) ([]catalog.Instance, error) { return nil, errDown }
func (downStore) Services(context.Context) ([]string, error)                    { return nil, errDown }
func (downStore) Delete(context.Context, string, string) (int, error)           { return 0, errDown }
