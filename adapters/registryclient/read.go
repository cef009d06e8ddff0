package registryclient

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/vertice/vertice/adapters/registryapi"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
)

// Lookup returns every instance the registry lists for service (GET
// /services/{name}), the instances array when present, else the single
// object, with the service's index (X-Vertice-Index). A 404 wraps
// ports.ErrNotFound, with the index still in the answer; a 200 that cannot be used (too large, not the API's
// JSON, no endpoint) wraps ports.ErrBadAnswer: it is that service's
// problem, not the registry's; anything else wraps ports.ErrUnavailable.
func (c *Client) Lookup(ctx context.Context, service string) (catalog.Service, error) {
	path := registryapi.ServicePath(service)
	var body registryapi.Lookup
	h, err := c.get(ctx, path, nil, &body)
	if errors.Is(err, ports.ErrNotFound) {
		// A 404 carries the index too: a router holding a newer answer
		// (the service came back meanwhile) keeps it.
		return catalog.Service{Name: service, Index: registryapi.ParseIndex(h.Get(registryapi.IndexHeader))}, err
	}
	if err != nil {
		return catalog.Service{}, err
	}
	snap := catalog.Service{Name: service, Index: registryapi.ParseIndex(h.Get(registryapi.IndexHeader)),
		Instances: body.Catalog()}
	if len(snap.Instances) == 0 {
		e := &Error{Method: "GET", URL: c.base + path, Status: 200, Err: errors.New("the answer has no endpoint")}
		return catalog.Service{}, e.as(badAnswer)
	}
	return snap, nil
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

// Changes asks the change feed (GET /v1/catalog/indexes?index=&wait=) which
// services changed after index, waiting up to wait for one to (index 0
// answers at once with every service). It implements ports.ChangeFeed.
// The call may last wait plus the registry's jitter (1/16 of it) plus the
// client's timeout.
func (c *Client) Changes(ctx context.Context, index uint64, wait time.Duration) (catalog.Changes, error) {
	q := url.Values{}
	if index > 0 {
		q.Set("index", strconv.FormatUint(index, 10))
		q.Set("wait", wait.String())
	}
	var body registryapi.Changes
	h, err := c.read(ctx, call{method: "GET", path: registryapi.PathChanges, query: q, limit: MaxAnswerBytes,
		timeout: wait + wait/16 + c.timeout, blocking: index > 0}, &body)
	if err != nil {
		return catalog.Changes{}, err
	}
	return body.Catalog(registryapi.ParseIndex(h.Get(registryapi.IndexHeader))), nil
}

var (
	_ ports.Directory  = (*Client)(nil)
	_ ports.ChangeFeed = (*Client)(nil)
)
