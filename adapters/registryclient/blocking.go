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

// Blocking reads (docs/watch.md) and /health: what the vertice command
// needs beyond the gateway's and the sidecar's calls.

// LookupAt is a blocking lookup (GET /services/{name}?index=&wait=): while
// the service's index is index it waits up to wait for it to move, then
// answers with the service as it is, with its index; index 0 answers at
// once. A service the registry does not know (404) is no error here: it
// comes back without instances (Found is false) and with the index to wait
// on for it to appear. Other failures are as Lookup's.
func (c *Client) LookupAt(ctx context.Context, service string, index uint64, wait time.Duration) (catalog.Service, error) {
	q := url.Values{}
	if index > 0 {
		q.Set("index", strconv.FormatUint(index, 10))
		q.Set("wait", wait.String())
	}
	var body registryapi.Lookup
	h, err := c.read(ctx, call{method: "GET", path: registryapi.ServicePath(service), query: q, limit: MaxAnswerBytes,
		timeout: wait + wait/16 + c.timeout, blocking: index > 0}, &body)
	snap := catalog.Service{Name: service}
	if h != nil {
		snap.Index = registryapi.ParseIndex(h.Get(registryapi.IndexHeader))
	}
	switch {
	case errors.Is(err, ports.ErrNotFound):
		return snap, nil
	case err != nil:
		return catalog.Service{}, err
	}
	snap.Instances = body.Catalog()
	if len(snap.Instances) == 0 {
		e := &Error{Method: "GET", URL: c.base + registryapi.ServicePath(service), Status: 200,
			Err: errors.New("the answer has no endpoint")}
		return catalog.Service{}, e.as(ports.ErrUnavailable)
	}
	return snap, nil
}

// Health is GET /health: the replica's status (a degraded registry still
// answers 200), backend, breaker and version. Failures wrap
// ports.ErrUnavailable.
func (c *Client) Health(ctx context.Context) (registryapi.Health, error) {
	var h registryapi.Health
	_, err := c.get(ctx, registryapi.PathHealth, nil, &h)
	return h, err
}
