// Package registryclient is the one client of the registry's HTTP API
// (the contract in adapters/registryapi), on net/http. Its read side
// (Lookup, List) is the gateway's ports.Directory; its write side
// (Register, Heartbeat, Deregister) is the sidecar's ports.RegistryClient.
//
// Connections are kept alive between calls, http:// and https:// both work
// (system roots by default, or the CAs of TLSConfig), every call is bounded
// by a timeout from dial to the answer's last byte, and every read of the
// registry's bytes is bounded: headers by the transport's limit, bodies by
// MaxAnswerBytes.
package registryclient

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds one call when Options.Timeout is zero: well under
// the seed's 30 s heartbeat, so a hung registry costs one beat, not a lease.
const DefaultTimeout = 5 * time.Second

// MaxAnswerBytes bounds a read answer: a service with many instances fits
// well within it, a misbehaving server cannot exhaust the caller's memory.
const MaxAnswerBytes = 1 << 20

// DefaultIdleConns is how many idle connections are kept when
// Options.MaxIdleConnsPerHost is zero: the sidecar makes one call at a time.
const DefaultIdleConns = 2

const (
	// maxWriteAnswer bounds what is read of a write's answer: the instance
	// JSON of a success (it echoes the metadata of a request the registry
	// caps at 64 kB), read to its end so the connection can be used again,
	// or an error's detail.
	maxWriteAnswer = 128 << 10
	// maxHeaderBytes bounds the status line and headers of an answer
	// (net/http's default is 10 MB).
	maxHeaderBytes = 64 << 10
	// idleTimeout closes a kept-alive connection unused for this long; it
	// outlives the seed's 30 s heartbeat and stays under nginx's 75 s.
	idleTimeout = 70 * time.Second
)

// Options configure a Client. Every zero value is documented.
type Options struct {
	// Token is sent as "Authorization: Bearer <Token>" on every call when
	// set; empty sends no Authorization header.
	Token string
	// Timeout bounds each call, from dial to the answer's last byte; zero
	// means DefaultTimeout. It also bounds the dial, the TLS handshake and
	// the wait for the answer's headers on their own.
	Timeout time.Duration
	// TLS configures https:// registries (see TLSConfig); nil means the
	// system's roots and TLS 1.2 or later.
	TLS *tls.Config
	// MaxIdleConnsPerHost bounds the connections kept alive; zero means
	// DefaultIdleConns.
	MaxIdleConnsPerHost int
	// Proxy picks a proxy for each request (http.ProxyFromEnvironment
	// honours HTTPS_PROXY, HTTP_PROXY and NO_PROXY); nil means direct.
	Proxy func(*http.Request) (*url.URL, error)
	// UserAgent names the caller; empty means "vertice".
	UserAgent string
}

// Client talks to one registry base URL. It is safe for concurrent use.
type Client struct {
	base    string // scheme://host[:port][/prefix], no trailing slash
	timeout time.Duration
	auth    string // the Authorization header, or ""
	agent   string
	http    *http.Client
	// watch sends blocking reads, whose answer's headers come only when
	// something changed: its transport does not bound the wait for them
	// (the call's own timeout does).
	watch *http.Client
}

// New returns a client of the registry at baseURL: an absolute http:// or
// https:// URL with a host, optionally a path prefix, without credentials
// (use Options.Token), query or fragment.
func New(baseURL string, o Options) (*Client, error) {
	base, err := ParseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	o.Timeout = cmp.Or(max(o.Timeout, 0), DefaultTimeout)
	c := &Client{base: base, timeout: o.Timeout, agent: cmp.Or(o.UserAgent, "vertice")}
	if o.Token != "" {
		c.auth = "Bearer " + o.Token
	}
	// A redirect is not part of the API; its status is the answer.
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.http = &http.Client{Transport: newTransport(o), CheckRedirect: noRedirect}
	watch := newTransport(o)
	watch.ResponseHeaderTimeout = 0
	c.watch = &http.Client{Transport: watch, CheckRedirect: noRedirect}
	return c, nil
}

// ParseBaseURL checks a registry base URL as New does and returns it
// without its trailing slash; its errors say what is wrong.
func ParseBaseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", fmt.Errorf("registry URL: %w", err)
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return "", fmt.Errorf("registry URL %q must be an absolute http:// or https:// URL with a host (e.g. http://vertice-register-lb:80)", raw)
	case u.User != nil:
		return "", fmt.Errorf("registry URL %q has credentials, which are not sent: use a bearer token instead", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("registry URL %q must not have a query or fragment", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// newTransport keeps connections to the registry alive (one TLS handshake,
// not one per heartbeat) and bounds each step of a call. HTTP/1.1 only:
// calls are few and short, and an HTTP/2 connection's state costs more
// memory than it saves.
func newTransport(o Options) *http.Transport {
	idle := cmp.Or(max(o.MaxIdleConnsPerHost, 0), DefaultIdleConns)
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	t := &http.Transport{
		Proxy:                  o.Proxy,
		DialContext:            (&net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:    o.Timeout,
		ResponseHeaderTimeout:  o.Timeout,
		MaxResponseHeaderBytes: maxHeaderBytes,
		MaxIdleConns:           idle,
		MaxIdleConnsPerHost:    idle,
		IdleConnTimeout:        idleTimeout,
		DisableCompression:     true,
		Protocols:              &protocols,
	}
	if o.TLS != nil {
		t.TLSClientConfig = o.TLS.Clone()
	} else {
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return t
}

// call is one request. Blocking reads (watches) pass a timeout longer than
// the client's (zero means the client's) and go through the watch client.
type call struct {
	method   string
	path     string // escaped, starting with /
	query    url.Values
	body     []byte // JSON, or nil
	limit    int64  // most bytes of the answer's body read
	timeout  time.Duration
	blocking bool
}

// answer is what the registry sent: the status stands even when the body
// came short (bodyErr) or was cut at the call's limit (cut).
type answer struct {
	status  int
	header  http.Header
	body    []byte
	bodyErr error
	cut     bool
}

// exchange sends one request and reads at most k.limit bytes of the answer,
// all within the call's timeout. When no answer came the error is an *Error
// whose kind the caller's table sets.
func (c *Client) exchange(ctx context.Context, k call) (answer, *Error) {
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(k.timeout, c.timeout))
	defer cancel()
	target := c.base + k.path
	if len(k.query) > 0 {
		target += "?" + k.query.Encode()
	}
	var body io.Reader
	if k.body != nil {
		body = bytes.NewReader(k.body)
	}
	req, err := http.NewRequestWithContext(ctx, k.method, target, body)
	if err != nil {
		return answer{}, &Error{Method: k.method, URL: target, Err: err}
	}
	c.setHeaders(req, k.body != nil)
	client := c.http
	if k.blocking {
		client = c.watch
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, &Error{Method: k.method, URL: target, Err: unwrapURLError(err)}
	}
	defer resp.Body.Close()
	// One byte past the limit tells a cut answer from one that fits; a body
	// read to its end lets the connection be used again.
	b, err := io.ReadAll(io.LimitReader(resp.Body, k.limit+1))
	a := answer{status: resp.StatusCode, header: resp.Header, body: b, bodyErr: err}
	if int64(len(b)) > k.limit {
		a.body, a.cut = b[:k.limit], true
	}
	return a, nil
}

func (c *Client) setHeaders(req *http.Request, hasBody bool) {
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.agent)
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	// Every call of the API means the same done twice as once (a register
	// replaces the same instance_id), so net/http may resend one on a fresh
	// connection when a kept-alive one turns out closed by the server. An
	// empty Idempotency-Key says so without sending the header.
	if req.Method != http.MethodGet {
		req.Header["Idempotency-Key"] = nil
	}
}

// unwrapURLError drops net/http's `Get "url": ` wrapper: Error names the
// method and URL already.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// get GETs path (with query) and decodes a 200's JSON into into. It returns
// the answer's headers, for reads that carry more than the body (a watch's
// index). Any answer but 200 is an *Error: 404 wraps ports.ErrNotFound,
// everything else ports.ErrUnavailable (see readKind).
func (c *Client) get(ctx context.Context, path string, query url.Values, into any) (http.Header, error) {
	return c.read(ctx, call{method: http.MethodGet, path: path, query: query, limit: MaxAnswerBytes}, into)
}

func (c *Client) read(ctx context.Context, k call, into any) (http.Header, error) {
	a, e := c.exchange(ctx, k)
	if e != nil {
		return nil, e.as(readKind(0))
	}
	fail := func(err error) (http.Header, error) {
		e := &Error{Method: k.method, URL: c.base + k.path, Status: a.status, Err: err}
		if a.status != http.StatusOK {
			e.Detail = detailOf(a.body)
		}
		return a.header, e.as(readKind(a.status))
	}
	switch {
	case a.status != http.StatusOK:
		return fail(nil)
	case a.cut:
		return fail(fmt.Errorf("%w (%d bytes)", ErrAnswerTooLarge, k.limit))
	case a.bodyErr != nil:
		return fail(fmt.Errorf("answer cut short: %w", a.bodyErr))
	}
	if err := json.Unmarshal(a.body, into); err != nil {
		return fail(fmt.Errorf("bad JSON: %w", err))
	}
	return a.header, nil
}

// send makes a write call with body encoded as JSON (none when nil). 2xx is
// success; anything else is an *Error classified by writeKind.
func (c *Client) send(ctx context.Context, method, path string, body any) error {
	k := call{method: method, path: path, limit: maxWriteAnswer}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("registryclient: encode %s %s: %w", method, path, err)
		}
		k.body = b
	}
	a, e := c.exchange(ctx, k)
	if e != nil {
		return e.as(writeKind(0, e.Err))
	}
	if a.status >= 200 && a.status < 300 {
		return nil
	}
	// The status is the answer: a body cut short leaves what arrived, not
	// an error that would hide a 404.
	e = &Error{Method: method, URL: c.base + path, Status: a.status, Detail: detailOf(a.body)}
	return e.as(writeKind(a.status, nil))
}
