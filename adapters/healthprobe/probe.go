// Package healthprobe asks a service's health endpoint whether it is
// healthy: a GET answered 200 within the timeout means yes, as in the seed.
// It speaks http:// or https:// through net/http, keeping one connection
// alive between probes.
package healthprobe

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/vertice/vertice/ports"
)

// DefaultTimeout is the seed's compose healthcheck timeout.
const DefaultTimeout = 3 * time.Second

const (
	// maxBody bounds what is read of an answer, only so that the
	// connection can be used again: the status is the verdict.
	maxBody = 4 << 10
	// maxHeaderBytes bounds the answer's status line and headers.
	maxHeaderBytes = 16 << 10
)

// Options configure a Probe. Zero values: DefaultTimeout, and https
// certificates checked against the system's roots.
type Options struct {
	// Timeout bounds one probe, from dial to the answer's headers.
	Timeout time.Duration
	// InsecureSkipVerify accepts any certificate of an https:// service:
	// an explicit opt-out for services with self-signed certificates.
	InsecureSkipVerify bool
}

// Probe GETs one URL.
type Probe struct {
	url    string
	client *http.Client
}

// New probes rawURL, an absolute http:// or https:// URL with a host.
func New(rawURL string, o Options) (*Probe, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("health probe: %q must be an absolute http:// or https:// URL with a host and no credentials", rawURL)
	}
	timeout := cmp.Or(max(o.Timeout, 0), DefaultTimeout)
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	transport := &http.Transport{
		Proxy:                  nil, // the service is beside the sidecar: never through a proxy
		DialContext:            (&net.Dialer{Timeout: timeout}).DialContext,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.InsecureSkipVerify}, // a documented opt-out
		TLSHandshakeTimeout:    timeout,
		MaxResponseHeaderBytes: maxHeaderBytes, // the wait for them is the client's Timeout
		MaxIdleConnsPerHost:    1,
		IdleConnTimeout:        90 * time.Second,
		DisableCompression:     true,
		Protocols:              &protocols,
	}
	return &Probe{url: u.String(), client: &http.Client{
		Transport: transport,
		Timeout:   timeout,
		// Only 200 counts: a redirect is not followed, its status is the answer.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

// Check returns nil when the service answered 200. Only 200 counts (not
// 204 or a redirect), as the seed's guide asks of health endpoints.
func (p *Probe) Check(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return fmt.Errorf("health probe GET %s: %w", p.url, err)
	}
	req.Header.Set("User-Agent", "vertice-sidecar")
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("health probe: %w", err)
	}
	// Read a little so the connection can serve the next probe.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health probe GET %s: answered %s, want 200", p.url, resp.Status)
	}
	return nil
}

var _ ports.HealthProbe = (*Probe)(nil)
