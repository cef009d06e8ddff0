// Package healthprobe asks a service's health endpoint whether it is
// healthy: a GET answered 200 within the timeout means yes, as in the seed.
// It speaks plain HTTP through internal/plainhttp, not net/http, so the
// sidecar binary stays small.
package healthprobe

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/vertice/vertice/internal/plainhttp"
	"github.com/vertice/vertice/ports"
)

// DefaultTimeout is the seed's compose healthcheck timeout.
const DefaultTimeout = 3 * time.Second

// Probe GETs one URL.
type Probe struct {
	url  *url.URL
	http plainhttp.Client
}

// New probes rawURL, which must be an absolute http:// URL. timeout zero
// means DefaultTimeout.
func New(rawURL string, timeout time.Duration) (*Probe, error) {
	u, err := plainhttp.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("health probe: %w", err)
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	// Only the status matters: the body is not read.
	return &Probe{url: u, http: plainhttp.Client{Timeout: timeout, SkipBody: true}}, nil
}

// Check returns nil when the service answered 200. Only 200 counts (not
// 204 or a redirect, which is not followed), as the seed's guide asks of
// health endpoints.
func (p *Probe) Check(ctx context.Context) error {
	resp, err := p.http.Do(ctx, plainhttp.Request{Method: "GET", URL: p.url,
		Header: map[string]string{"User-Agent": "vertice-sidecar"}})
	if err != nil {
		return fmt.Errorf("health probe GET %s: %w", p.url, err)
	}
	if resp.Status != 200 {
		return fmt.Errorf("health probe GET %s: answered %d %s, want 200", p.url, resp.Status, plainhttp.StatusText(resp.Status))
	}
	return nil
}

var _ ports.HealthProbe = (*Probe)(nil)
