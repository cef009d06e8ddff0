// Package registryclient is the sidecar's HTTP client of the registry API
// (POST /register, POST /heartbeat, DELETE /services/{name}/{id}). It speaks
// plain HTTP through internal/plainhttp, not net/http, so the sidecar binary
// stays small.
package registryclient

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"time"

	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/internal/plainhttp"
	"github.com/vertice/vertice/ports"
)

// DefaultTimeout bounds each call when Options.Timeout is zero: well under
// the seed's 30 s heartbeat, so a hung registry costs one beat, not a lease.
const DefaultTimeout = 5 * time.Second

// maxDetail bounds how much of an error body ends up in an error message.
const maxDetail = 4 << 10

// Options configure a Client. Zero values: Token empty sends no
// Authorization header; Timeout zero means DefaultTimeout.
type Options struct {
	Token   string
	Timeout time.Duration
}

// Client talks to one registry base URL. Each call is its own connection:
// one every HEARTBEAT_INTERVAL costs less than keeping one open.
type Client struct {
	base   *url.URL
	header map[string]string // every call
	post   map[string]string // calls with a JSON body: header plus Content-Type
	http   plainhttp.Client
}

// New returns a client of the registry at baseURL (http://host:port, with
// or without a path prefix).
func New(baseURL string, o Options) (*Client, error) {
	u, err := plainhttp.ParseURL(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("registryclient: %w (e.g. http://vertice-register-lb:80)", err)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	header := map[string]string{"Accept": "application/json", "User-Agent": "vertice-sidecar"}
	if o.Token != "" {
		header["Authorization"] = "Bearer " + o.Token
	}
	post := maps.Clone(header)
	post["Content-Type"] = "application/json"
	return &Client{base: u, header: header, post: post, http: plainhttp.Client{Timeout: o.Timeout, MaxBody: maxDetail}}, nil
}

type registerBody struct {
	ServiceName    string            `json:"service_name"`
	InstanceID     string            `json:"instance_id,omitempty"`
	Endpoint       string            `json:"endpoint"`
	HealthEndpoint string            `json:"health_endpoint,omitempty"`
	Metadata       map[string]string `json:"metadata"`
}

type heartbeatBody struct {
	ServiceName string `json:"service_name"`
	InstanceID  string `json:"instance_id,omitempty"`
}

// Register POSTs /register; 200 and 201 both mean stored.
func (c *Client) Register(ctx context.Context, r catalog.Registration) error {
	md := r.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return c.do(ctx, "POST", "/register", registerBody{
		ServiceName: r.ServiceName, InstanceID: r.InstanceID, Endpoint: r.Endpoint,
		HealthEndpoint: r.HealthEndpoint, Metadata: md,
	})
}

// Heartbeat POSTs /heartbeat; an error wrapping ports.ErrNotFound means the
// registry no longer knows the instance.
func (c *Client) Heartbeat(ctx context.Context, service, instanceID string) error {
	return c.do(ctx, "POST", "/heartbeat", heartbeatBody{ServiceName: service, InstanceID: instanceID})
}

// Deregister DELETEs /services/{service}/{instanceID}.
func (c *Client) Deregister(ctx context.Context, service, instanceID string) error {
	return c.do(ctx, "DELETE", "/services/"+url.PathEscape(service)+"/"+url.PathEscape(instanceID), nil)
}

func (c *Client) do(ctx context.Context, method, path string, body any) error {
	u, err := url.Parse(c.base.String() + path) // path's segments are escaped already
	if err != nil {
		return fmt.Errorf("registryclient: %s %s: %w", method, path, err)
	}
	req := plainhttp.Request{Method: method, URL: u, Header: c.header}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("registryclient: encode %s %s: %w", method, path, err)
		}
		req.Body, req.Header = b, c.post
	}
	resp, err := c.http.Do(ctx, req)
	if err != nil {
		return &Error{Method: method, URL: req.URL.String(), Err: err}
	}
	if resp.Status >= 200 && resp.Status < 300 {
		return nil
	}
	return &Error{Method: method, URL: req.URL.String(), Status: resp.Status, Detail: detailOf(resp.Body)}
}

// detailOf reads the registry's {"detail": "..."} or, from anything else in
// the way (a load balancer's HTML page), the start of the body.
func detailOf(b []byte) string {
	var e struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal(b, &e) == nil && e.Detail != "" {
		return e.Detail
	}
	return strings.TrimSpace(string(b))
}

var _ ports.RegistryClient = (*Client)(nil)
