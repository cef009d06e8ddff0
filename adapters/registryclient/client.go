// Package registryclient is the sidecar's HTTP client of the registry API
// (POST /register, POST /heartbeat, DELETE /services/{name}/{id}). It uses
// net/http only, so the sidecar binary stays small.
package registryclient

import (
	"bytes"
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

// DefaultTimeout bounds each call when Options.Timeout is zero: well under
// the seed's 30 s heartbeat, so a hung registry costs one beat, not a lease.
const DefaultTimeout = 5 * time.Second

// maxDetail bounds how much of an error body ends up in an error message.
const maxDetail = 4 << 10

// Options configure a Client. Zero values: Token empty sends no
// Authorization header; Timeout zero means DefaultTimeout; HTTPClient nil
// means a client of its own (not http.DefaultClient, which other code may
// have changed).
type Options struct {
	Token      string
	Timeout    time.Duration
	HTTPClient *http.Client
}

// Client talks to one registry base URL.
type Client struct {
	base    string
	token   string
	timeout time.Duration
	http    *http.Client
}

// New returns a client of the registry at baseURL (http://host:port, with
// or without a path prefix).
func New(baseURL string, o Options) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("registryclient: %q must be an absolute http(s) URL such as http://vertice-register-lb:80", baseURL)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 2, IdleConnTimeout: 90 * time.Second,
		}}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), token: o.Token, timeout: o.Timeout, http: o.HTTPClient}, nil
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
	return c.do(ctx, http.MethodPost, "/register", registerBody{
		ServiceName: r.ServiceName, InstanceID: r.InstanceID, Endpoint: r.Endpoint,
		HealthEndpoint: r.HealthEndpoint, Metadata: md,
	})
}

// Heartbeat POSTs /heartbeat; an error wrapping ports.ErrNotFound means the
// registry no longer knows the instance.
func (c *Client) Heartbeat(ctx context.Context, service, instanceID string) error {
	return c.do(ctx, http.MethodPost, "/heartbeat", heartbeatBody{ServiceName: service, InstanceID: instanceID})
}

// Deregister DELETEs /services/{service}/{instanceID}.
func (c *Client) Deregister(ctx context.Context, service, instanceID string) error {
	return c.do(ctx, http.MethodDelete, "/services/"+url.PathEscape(service)+"/"+url.PathEscape(instanceID), nil)
}

func (c *Client) do(ctx context.Context, method, path string, body any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := c.request(ctx, method, path, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &Error{Method: method, URL: req.URL.String(), Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Drain so the connection is reused for the next heartbeat.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	return &Error{Method: method, URL: req.URL.String(), Status: resp.StatusCode, Detail: detailOf(resp.Body)}
}

func (c *Client) request(ctx context.Context, method, path string, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("registryclient: encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("registryclient: %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "vertice-sidecar")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// detailOf reads the registry's {"detail": "..."} or, from anything else in
// the way (a load balancer's HTML page), the start of the body.
func detailOf(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, maxDetail))
	var e struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal(b, &e) == nil && e.Detail != "" {
		return e.Detail
	}
	return strings.TrimSpace(string(b))
}

var _ ports.RegistryClient = (*Client)(nil)
