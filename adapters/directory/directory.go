// Package directory is the gateway's view of the registry: GET
// {REGISTRY_URL}/services/{name} turned into instances. It implements
// ports.Directory; the sidecar's registryclient writes, this only reads.
package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
)

// MaxBodyBytes bounds an answer: a service with many instances fits well
// within it, a misbehaving server cannot exhaust the gateway's memory.
const MaxBodyBytes = 1 << 20

// DefaultTimeout bounds one lookup when the client has no timeout of its own.
const DefaultTimeout = 2 * time.Second

// Directory asks a registry over HTTP. Build it with New.
type Directory struct {
	base   string
	client *http.Client
}

// New returns a Directory for the registry at baseURL (e.g.
// http://vertice-register-lb:80). A nil client means one with
// DefaultTimeout; a client with no Timeout gets DefaultTimeout too, so a
// silent registry cannot hold a request forever.
func New(baseURL string, client *http.Client) (*Directory, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("directory: registry URL %q must be an absolute http(s) URL", baseURL)
	}
	if client == nil {
		client = &http.Client{}
	}
	if client.Timeout == 0 {
		c := *client
		c.Timeout = DefaultTimeout
		client = &c
	}
	return &Directory{base: strings.TrimRight(baseURL, "/"), client: client}, nil
}

// instanceJSON is the seed's object; instance_id appears in the instances array.
type instanceJSON struct {
	ServiceName    string            `json:"service_name"`
	InstanceID     string            `json:"instance_id"`
	Endpoint       string            `json:"endpoint"`
	HealthEndpoint string            `json:"health_endpoint"`
	Metadata       map[string]string `json:"metadata"`
	RegisteredAt   float64           `json:"registered_at"`
	LastHeartbeat  float64           `json:"last_heartbeat"`
	TTLRemaining   int               `json:"ttl_remaining"`
}

type lookupJSON struct {
	instanceJSON
	Instances []instanceJSON `json:"instances"`
}

// Lookup returns every instance the registry lists for service: the
// instances array when present, else the single object (the seed's
// registry never sends the array). 404 is ports.ErrNotFound; anything else
// that is not a usable 200 wraps ports.ErrUnavailable.
func (d *Directory) Lookup(ctx context.Context, service string) ([]catalog.Instance, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.base+"/services/"+url.PathEscape(service), nil)
	if err != nil {
		return nil, fmt.Errorf("directory: %w: %v", ports.ErrUnavailable, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("directory: GET %s: %w: %v", req.URL, ports.ErrUnavailable, err)
	}
	defer drain(resp.Body)
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("directory: %q: %w", service, ports.ErrNotFound)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("directory: GET %s answered %d: %w", req.URL, resp.StatusCode, ports.ErrUnavailable)
	}
	var body lookupJSON
	if err := json.NewDecoder(io.LimitReader(resp.Body, MaxBodyBytes)).Decode(&body); err != nil {
		return nil, fmt.Errorf("directory: GET %s: bad JSON: %w: %v", req.URL, ports.ErrUnavailable, err)
	}
	return instances(body)
}

func instances(body lookupJSON) ([]catalog.Instance, error) {
	list := body.Instances
	if len(list) == 0 {
		list = []instanceJSON{body.instanceJSON}
	}
	out := make([]catalog.Instance, 0, len(list))
	for _, j := range list {
		if j.Endpoint == "" {
			continue
		}
		out = append(out, j.instance())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("directory: answer for %q has no endpoint: %w", body.ServiceName, ports.ErrUnavailable)
	}
	return out, nil
}

// instance converts one object. Without an instance_id (the seed's single
// object) the ID is the endpoint's host:port, the registry's own default.
// TTL holds ttl_remaining as read: the registry, not the gateway, judges
// expiry.
func (j instanceJSON) instance() catalog.Instance {
	id := j.InstanceID
	if id == "" {
		if u, err := url.Parse(j.Endpoint); err == nil {
			id = u.Host
		}
	}
	return catalog.Instance{
		Registration: catalog.Registration{
			ServiceName: j.ServiceName, InstanceID: id, Endpoint: j.Endpoint,
			HealthEndpoint: j.HealthEndpoint, Metadata: j.Metadata,
		},
		RegisteredAt:  fromUnix(j.RegisteredAt),
		LastHeartbeat: fromUnix(j.LastHeartbeat),
		TTL:           time.Duration(j.TTLRemaining) * time.Second,
	}
}

func fromUnix(s float64) time.Time {
	if s <= 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(s*1e9))
}

// drain reads a little of what is left so the connection can be reused.
func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	_ = body.Close()
}

var _ ports.Directory = (*Directory)(nil)
