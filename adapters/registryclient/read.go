package registryclient

import (
	"context"
	"errors"

	"github.com/vertice/vertice/adapters/registryapi"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
)

// Lookup returns every instance the registry lists for service (GET
// /services/{name}): the instances array when present, else the single
// object. A 404 wraps ports.ErrNotFound; anything else that is not a usable
// 200 wraps ports.ErrUnavailable.
func (c *Client) Lookup(ctx context.Context, service string) ([]catalog.Instance, error) {
	path := registryapi.ServicePath(service)
	var body registryapi.Lookup
	if _, err := c.get(ctx, path, nil, &body); err != nil {
		return nil, err
	}
	list := body.Catalog()
	if len(list) == 0 {
		e := &Error{Method: "GET", URL: c.base + path, Status: 200, Err: errors.New("the answer has no endpoint")}
		return nil, e.as(ports.ErrUnavailable)
	}
	return list, nil
}

// List returns the names of the registered services, sorted (GET
// /services). Failures wrap ports.ErrUnavailable.
func (c *Client) List(ctx context.Context) ([]string, error) {
	var names []string
	if _, err := c.get(ctx, registryapi.PathServices, nil, &names); err != nil {
		return nil, err
	}
	return names, nil
}

var _ ports.Directory = (*Client)(nil)
