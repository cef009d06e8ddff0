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

func (downStore) Put(context.Context, catalog.Instance) (catalog.Change, error) {
	return catalog.Change{}, errDown
}
func (downStore) Renew(context.Context, string, string) (catalog.Instance, error) {
	return catalog.Instance{}, errDown
}
func (downStore) Service(context.Context, string) (catalog.Service, error) {
	return catalog.Service{}, errDown
}
func (downStore) Catalog(context.Context) (catalog.Catalog, error) { return catalog.Catalog{}, errDown }
func (downStore) Delete(context.Context, string, string) (catalog.Change, error) {
	return catalog.Change{}, errDown
}
