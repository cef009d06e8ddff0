package ui

import (
	"context"
	"errors"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vertice/vertice/adapters/registryapi"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/registry"
	"github.com/vertice/vertice/ports"
)

// page is what every page shows: the layout's header and replica panel,
// and what the script waits on.
type page struct {
	Title string
	// Root is the relative path to the registry's root (see rootOf).
	Root string
	// Watch is the API URL (relative) whose blocking read tells the
	// script that the page changed; empty: nothing to wait on.
	Watch string
	// Wait is the blocking read's wait, as the API takes it.
	Wait string
	// Index is what Watch's index was when the page was read: the
	// script waits for it to move.
	Index   uint64
	Replica replica
	Now     time.Time
	// Error, when set, replaces the page's content.
	Error string
}

// replica is the replica panel.
type replica struct {
	Known         bool // Health was given
	Healthy       bool
	Status        string
	Reason        string
	Backend       string
	Breaker       string
	Notifications string
	NotifyUp      bool
	Version       string
	// Index is the catalog's: the highest index of any service.
	Index uint64
}

func (u *ui) newPage(ctx context.Context, urlPath, title, watch string) page {
	p := page{Title: title, Root: rootOf(urlPath), Watch: watch, Wait: u.Wait.String(), Now: u.Registry.Now()}
	if watch != "" {
		p.Watch = p.Root + strings.TrimPrefix(watch, "/")
	}
	if u.Health != nil {
		h := u.Health(ctx)
		p.Replica = replica{Known: true, Healthy: h.Healthy(), Status: h.Status, Reason: h.Reason,
			Backend: backendName(h.Backend, h.Topology), Breaker: h.Breaker, Notifications: h.Notifications,
			NotifyUp: h.Notifications == "up", Version: h.Version}
	}
	if feed, err := u.Registry.Changes(ctx, nil, registry.Block{}); err == nil {
		p.Replica.Index = feed.Index
	}
	return p
}

// backendName is how the panel names the store: Memory, Redis, Redis
// Sentinel or Redis Cluster.
func backendName(backend, topology string) string {
	switch {
	case backend == "memory":
		return "Memory"
	case backend == "redis" && topology == "sentinel":
		return "Redis Sentinel"
	case backend == "redis" && topology == "cluster":
		return "Redis Cluster"
	case backend == "redis":
		return "Redis"
	}
	return backend
}

// ---- the services page --------------------------------------------------------

type servicesPage struct {
	page
	Query string
	// Services are every service, those the filter leaves out Hidden: the
	// script then filters as one types without asking the server.
	Services []serviceRow
	Shown    int
}

type serviceRow struct {
	Name      string
	Instances int
	Healthy   int
	Unhealthy int
	Tags      []string
	// Changed is when the service last changed, read from its index.
	Changed time.Time
	Index   uint64
	Hidden  bool
}

// Filter is what the filter box matches: the name and the tags.
func (r serviceRow) Filter() string { return strings.Join(append([]string{r.Name}, r.Tags...), " ") }

func (u *ui) servicesPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := servicesPage{page: u.newPage(ctx, r.URL.Path, "Services", registryapi.PathChanges), Query: r.URL.Query().Get("q")}
	// The page's index is the change feed's (every service), read before
	// the services: a change in between wakes the script at once rather
	// than being missed.
	feed, err := u.Registry.Changes(ctx, nil, registry.Block{})
	if err != nil {
		u.failed(w, u.services, &p, &p.page, err)
		return
	}
	p.Index = feed.Index
	for _, si := range feed.Services {
		snap, err := u.Registry.Lookup(ctx, si.Name, registry.Block{})
		if errors.Is(err, ports.ErrNotFound) {
			continue // its last lease ended since the feed was read
		}
		if err != nil {
			u.failed(w, u.services, &p, &p.page, err)
			return
		}
		row := newServiceRow(snap)
		row.Hidden = !matches(row, p.Query)
		if !row.Hidden {
			p.Shown++
		}
		p.Services = append(p.Services, row)
	}
	u.render(w, http.StatusOK, u.services, p)
}

func newServiceRow(snap catalog.Service) serviceRow {
	row := serviceRow{Name: snap.Name, Instances: len(snap.Instances), Index: snap.Index, Changed: indexTime(snap.Index)}
	tags := map[string]bool{}
	for _, in := range snap.Instances {
		if in.Healthy() {
			row.Healthy++
		} else {
			row.Unhealthy++
		}
		for _, t := range tagsOf(in) {
			tags[t] = true
		}
	}
	row.Tags = slices.Sorted(maps.Keys(tags))
	return row
}

// matches is the filter: every word of q is part of the name or a tag,
// ignoring case. app.js applies the same rule as one types.
func matches(row serviceRow, q string) bool {
	hay := strings.ToLower(row.Filter())
	for _, word := range strings.Fields(strings.ToLower(q)) {
		if !strings.Contains(hay, word) {
			return false
		}
	}
	return true
}

// indexTime is when the service last changed, read from its index; the
// zero time (shown as the index) when the index is not a time.
func indexTime(index uint64) time.Time {
	t, _ := catalog.IndexTime(index)
	return t
}

// tagsOf is an instance's tags (POST /register's tags, SERVICE_TAGS,
// Consul's service tags).
func tagsOf(in catalog.Instance) []string { return in.Tags }

// ---- one service ---------------------------------------------------------------

type servicePage struct {
	page
	Name      string
	Found     bool
	Instances []instanceRow
	Healthy   int
	Unhealthy int
}

type instanceRow struct {
	ID             string
	Endpoint       string
	Link           bool // Endpoint is an http(s) URL, shown as a link
	HealthEndpoint string
	Healthy        bool
	Metadata       []pair
	Tags           []string
	RegisteredAt   time.Time
	LastHeartbeat  time.Time
	// Left is the lease's time left when the page was read, TTL its
	// length: the countdown ticks down from Left.
	Left, TTL time.Duration
}

type pair struct{ Key, Value string }

func (u *ui) servicePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PathValue("name")
	p := servicePage{Name: name}
	if err := catalog.ValidateServiceName(name); err != nil {
		p.page = u.newPage(ctx, r.URL.Path, name, "")
		p.Error = err.Error()
		u.render(w, http.StatusNotFound, u.service, p)
		return
	}
	p.page = u.newPage(ctx, r.URL.Path, name, registryapi.ServicePath(name))
	snap, err := u.Registry.Lookup(ctx, name, registry.Block{})
	var nf *registry.NotFoundError
	switch {
	case errors.As(err, &nf):
		// The page waits for the service to appear.
		p.Index = nf.Index
		u.render(w, http.StatusNotFound, u.service, p)
		return
	case err != nil:
		u.failed(w, u.service, &p, &p.page, err)
		return
	}
	p.Found, p.Index = true, snap.Index
	now := p.Now
	for _, in := range snap.Instances {
		row := newInstanceRow(in, now)
		if row.Healthy {
			p.Healthy++
		} else {
			p.Unhealthy++
		}
		p.Instances = append(p.Instances, row)
	}
	// Lookups answer best first, which moves with every heartbeat; the
	// table keeps a stable order.
	slices.SortFunc(p.Instances, func(a, b instanceRow) int { return strings.Compare(a.ID, b.ID) })
	u.render(w, http.StatusOK, u.service, p)
}

func newInstanceRow(in catalog.Instance, now time.Time) instanceRow {
	row := instanceRow{ID: in.InstanceID, Endpoint: in.Endpoint, Link: isWebURL(in.Endpoint),
		HealthEndpoint: in.HealthEndpoint, Healthy: in.Healthy(), Tags: tagsOf(in),
		RegisteredAt: in.RegisteredAt, LastHeartbeat: in.LastHeartbeat,
		Left: max(in.ExpiresAt().Sub(now), 0), TTL: in.TTL}
	for _, k := range slices.Sorted(maps.Keys(in.Metadata)) {
		row.Metadata = append(row.Metadata, pair{k, in.Metadata[k]})
	}
	return row
}

// isWebURL says whether s is an absolute http(s) URL with a host: only
// those become links (registration refuses other endpoints, but what a
// store holds is not trusted twice).
func isWebURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

// failed renders a page whose data could not be read (the backend is
// down and no copy stands in): 503 with the reason; the script keeps
// trying. pg is data's page.
func (u *ui) failed(w http.ResponseWriter, t *template.Template, data any, pg *page, err error) {
	u.Logger.Warn("ui: reading the catalog failed", "error", err.Error())
	pg.Error = "The registry could not read its catalog: " + err.Error()
	u.render(w, http.StatusServiceUnavailable, t, data)
}
