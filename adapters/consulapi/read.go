package consulapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/vertice/vertice/domain/registry"
	"github.com/vertice/vertice/ports"
)

// Reads. A service's reads (health/service, catalog/service,
// health/checks) answer with the service's index and block on it, as the
// native GET /services/{name} does; whole-catalog reads
// (catalog/services, health/state) answer with the change feed's index,
// which moves on any change of any service (tags and health included, as
// Consul's does), and block on it. Entries come in instance ID order
// (service name first where there are several), never in the order of
// the latest heartbeat: Traefik pairs catalog/service's entries with
// health/service's by position.

// keeps applies the parameters that narrow a service's entries: every
// tag asked for, passing, and node-meta (Vértice's nodes have no
// metadata, so asking for some keeps nothing).
func (q query) keeps(v instanceView, health bool) bool {
	if q.nodeMeta || (health && q.passing && v.status != Passing) {
		return false
	}
	for _, t := range q.tags {
		if !slices.Contains(v.tags, t) {
			return false
		}
	}
	return true
}

// service reads one service, blocking as q asks: its instances in ID
// order and its index (an unknown service has none, and still an index).
func (a *api) service(c *gin.Context, q query, name string) ([]instanceView, uint64, error) {
	b, cancel := a.block(c, q)
	defer cancel()
	snap, err := a.Registry.Lookup(c.Request.Context(), name, b)
	var nf *registry.NotFoundError
	if errors.As(err, &nf) {
		return nil, nf.Index, nil
	}
	if err != nil {
		return nil, 0, err
	}
	views := make([]instanceView, len(snap.Instances))
	for i, in := range snap.Instances {
		views[i] = newView(in, snap.Index, a.Datacenter)
	}
	slices.SortFunc(views, func(x, y instanceView) int { return strings.Compare(x.in.InstanceID, y.in.InstanceID) })
	return views, snap.Index, nil
}

// everything reads the whole catalog, blocking on the change feed as q
// asks: every live instance, by service name then ID, and the feed's
// index (read first: an answer may be newer than its index, never older).
func (a *api) everything(c *gin.Context, q query) ([]instanceView, uint64, error) {
	b, cancel := a.block(c, q)
	defer cancel()
	ctx := c.Request.Context()
	ch, err := a.Registry.Changes(ctx, nil, b)
	if err != nil {
		return nil, 0, err
	}
	views, err := a.all(ctx)
	return views, ch.Index, err
}

func (a *api) all(ctx context.Context) ([]instanceView, error) {
	cat, err := a.Registry.List(ctx, registry.Block{})
	if err != nil {
		return nil, err
	}
	var views []instanceView
	for _, si := range cat.Services {
		snap, err := a.Registry.Lookup(ctx, si.Name, registry.Block{})
		if errors.Is(err, ports.ErrNotFound) {
			continue // expired or deregistered between the two reads
		}
		if err != nil {
			return nil, err
		}
		start := len(views)
		for _, in := range snap.Instances {
			views = append(views, newView(in, snap.Index, a.Datacenter))
		}
		slices.SortFunc(views[start:], func(x, y instanceView) int { return strings.Compare(x.in.InstanceID, y.in.InstanceID) })
	}
	return views, nil
}

// healthService is GET /v1/health/service/{name}: Prometheus's and the
// Go client's read.
func (a *api) healthService(c *gin.Context) {
	serveService(a, c, sample.entry(), true, instanceView.entry)
}

// catalogService is GET /v1/catalog/service/{name}.
func (a *api) catalogService(c *gin.Context) {
	serveService(a, c, sample.catalogService(), false, instanceView.catalogService)
}

// serveService answers a service's entries, rendered by render, that
// pass q's narrowing (health: passing applies) and its filter.
func serveService[E any](a *api, c *gin.Context, sample E, health bool, render func(instanceView) E) {
	q, err := a.parseQuery(c)
	if err == nil {
		err = q.filter.check(sample)
	}
	if err != nil {
		fail(c, err)
		return
	}
	views, index, err := a.service(c, q, c.Param("name"))
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]E, 0, len(views))
	for _, v := range views {
		if !q.keeps(v, health) {
			continue
		}
		e := render(v)
		if ok, err := q.filter.match(e); err != nil {
			fail(c, err)
			return
		} else if ok {
			out = append(out, e)
		}
	}
	setMeta(c, index)
	c.JSON(http.StatusOK, out)
}

// healthChecks is GET /v1/health/checks/{name}: the checks of one
// service (the Go client's watch plan "checks" with a service).
func (a *api) healthChecks(c *gin.Context) {
	q, err := a.parseQuery(c)
	if err == nil {
		err = q.filter.check(sample.check())
	}
	if err != nil {
		fail(c, err)
		return
	}
	views, index, err := a.service(c, q, c.Param("name"))
	if err != nil {
		fail(c, err)
		return
	}
	a.answerChecks(c, q, views, index, "")
}

// healthState is GET /v1/health/state/{any|passing|warning|critical}:
// Traefik's watch uses state/any as its change trigger.
func (a *api) healthState(c *gin.Context) {
	state := c.Param("state")
	if state != "any" && state != Passing && state != Warning && state != Critical {
		fail(c, badRequest{"state: " + state + " must be any, passing, warning or critical"})
		return
	}
	q, err := a.parseQuery(c)
	if err == nil {
		err = q.filter.check(sample.check())
	}
	if err != nil {
		fail(c, err)
		return
	}
	views, index, err := a.everything(c, q)
	if err != nil {
		fail(c, err)
		return
	}
	a.answerChecks(c, q, views, index, state)
}

func (a *api) answerChecks(c *gin.Context, q query, views []instanceView, index uint64, state string) {
	out := make([]HealthCheck, 0, len(views))
	for _, v := range views {
		if q.nodeMeta || (state != "" && state != "any" && v.status != state) {
			continue
		}
		chk := v.check()
		if ok, err := q.filter.match(chk); err != nil {
			fail(c, err)
			return
		} else if ok {
			out = append(out, chk)
		}
	}
	setMeta(c, index)
	c.JSON(http.StatusOK, out)
}

// catalogServices is GET /v1/catalog/services: every service's name and
// the tags of its instances (each once, sorted). A filter applies to the
// instances (as catalog/service's entries): a service is listed when one
// of them passes, with the tags of those that pass.
func (a *api) catalogServices(c *gin.Context) {
	q, err := a.parseQuery(c)
	if err == nil {
		err = q.filter.check(sample.catalogService())
	}
	if err != nil {
		fail(c, err)
		return
	}
	views, index, err := a.everything(c, q)
	if err != nil {
		fail(c, err)
		return
	}
	out := map[string][]string{}
	for _, v := range views {
		if q.nodeMeta {
			continue
		}
		if ok, err := q.filter.match(v.catalogService()); err != nil {
			fail(c, err)
			return
		} else if !ok {
			continue
		}
		tags := out[v.in.ServiceName]
		if tags == nil {
			tags = []string{}
		}
		for _, t := range v.tags {
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
		out[v.in.ServiceName] = tags
	}
	for _, tags := range out {
		slices.Sort(tags)
	}
	setMeta(c, index)
	c.JSON(http.StatusOK, out)
}
