// Package proxy is the gateway's reverse proxy: /v2/{service}/{path...} is
// resolved through domain/routing and forwarded with httputil.ReverseProxy
// (Rewrite, not Director). Bodies stream both ways; a request that could
// not reach an instance is retried on another when that is safe; every
// error becomes a status in one table (statusOf).
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"time"

	"github.com/vertice/vertice/domain/routing"
)

// DefaultPrefix is the seed's dynamic-routing prefix.
const DefaultPrefix = "/v2/"

// Defaults for Options' zero values.
const (
	DefaultDialTimeout         = 2 * time.Second
	DefaultTimeout             = 30 * time.Second
	DefaultMaxIdleConnsPerHost = 512
)

// Observer learns what the proxy did, for metrics; the proxy itself holds
// no metrics. Calls happen on the request's goroutine, so keep them cheap.
type Observer interface {
	// Resolved reports where a route came from (hit or miss of the cache).
	Resolved(src routing.Source, err error)
	// Served reports a finished request. service is "" when the name did not
	// resolve (so unknown names cannot inflate label sets); upstream is the
	// time to the upstream's response headers, zero if none was reached.
	Served(service string, code int, upstream time.Duration)
}

// Options configure a Proxy. Zero values mean the defaults above; a nil
// Observer observes nothing; a nil Logger discards.
type Options struct {
	Router *routing.Router
	// Prefix is the path prefix that carries the service name ("/v2/").
	Prefix string
	// DialTimeout bounds connecting to an instance (UPSTREAM_DIAL_TIMEOUT).
	DialTimeout time.Duration
	// Timeout bounds the wait for an instance's response headers
	// (UPSTREAM_TIMEOUT); the body then streams for as long as it takes.
	Timeout time.Duration
	// MaxIdleConnsPerHost sizes the keep-alive pool to each instance.
	MaxIdleConnsPerHost int
	// TrustForwarded keeps the client's X-Forwarded-For and appends to it;
	// off by default because the gateway is the edge and clients can lie.
	TrustForwarded bool
	// Transport replaces the tuned http.Transport (tests).
	Transport http.RoundTripper
	Observer  Observer
	Logger    *slog.Logger
}

// Validate names the first bad field.
func (o Options) Validate() error {
	switch {
	case o.Router == nil:
		return errors.New("proxy: Options.Router is required")
	case o.Prefix != "" && (!strings.HasPrefix(o.Prefix, "/") || !strings.HasSuffix(o.Prefix, "/")):
		return fmt.Errorf("proxy: Options.Prefix %q must start and end with /", o.Prefix)
	case o.DialTimeout < 0, o.Timeout < 0, o.MaxIdleConnsPerHost < 0:
		return errors.New("proxy: Options.DialTimeout, Timeout and MaxIdleConnsPerHost must not be negative")
	}
	return nil
}

// Proxy is an http.Handler for the prefix's paths. Build it with New.
type Proxy struct {
	router   *routing.Router
	prefix   string
	rp       *httputil.ReverseProxy
	observer Observer
	log      *slog.Logger
	trustXFF bool
}

// New builds the proxy and its upstream transport.
func New(o Options) (*Proxy, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	p := &Proxy{router: o.Router, prefix: o.Prefix, observer: o.Observer, log: o.Logger, trustXFF: o.TrustForwarded}
	inner := o.Transport
	if inner == nil {
		inner = NewTransport(o.DialTimeout, o.Timeout, o.MaxIdleConnsPerHost)
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:   p.rewrite,
		Transport: &retrier{inner: inner},
		// Zero: answers of unknown length (chunked, streams) and event
		// streams are flushed on every write by ReverseProxy itself; answers
		// with a Content-Length go out as the 4 KiB response buffer fills,
		// so nothing is held whole either way. -1 would cost a timer
		// goroutine and an extra write per response on the hot path.
		FlushInterval:  0,
		BufferPool:     newBufferPool(64),
		ErrorHandler:   p.errorHandler,
		ModifyResponse: modifyResponse,
		ErrorLog:       slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}
	return p, nil
}

func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxIdleConnsPerHost == 0 {
		o.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// NewTransport is tuned for many short requests to a few hosts: a deep
// keep-alive pool per instance, bounded connect and header waits, and no
// transparent gzip (the client's Accept-Encoding passes through untouched).
func NewTransport(dial, header time.Duration, idlePerHost int) *http.Transport {
	return &http.Transport{
		Proxy:                 nil, // never route upstream traffic through HTTP_PROXY
		DialContext:           (&net.Dialer{Timeout: dial, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   dial,
		ResponseHeaderTimeout: header,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          0, // no global cap; per host is the limit that matters
		MaxIdleConnsPerHost:   idlePerHost,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		WriteBufferSize:       32 << 10,
		ReadBufferSize:        32 << 10,
	}
}

// call is one request's state, shared by ServeHTTP, Rewrite, the retrying
// transport and the error handler through the request context.
type call struct {
	route    *routing.Route
	rest     string // path after the service, decoded, starting with "/"
	rawRest  string // the same, escaped, when the client sent escapes
	tried    []*routing.Target
	triedBuf [4]*routing.Target
	reached  bool
	status   int
	upstream time.Duration
}

type callKey struct{}

var calls = sync.Pool{New: func() any { return new(call) }}

// ServeHTTP resolves the service, consults its breaker, and proxies.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := calls.Get().(*call)
	*c = call{}
	defer calls.Put(c)
	service, ok := p.split(r, c)
	if !ok {
		p.fail(w, r, c, errBadPath)
		p.observer.Served("", c.status, 0)
		return
	}
	rt, src, err := p.router.Resolve(r.Context(), service)
	p.observer.Resolved(src, err)
	if err != nil {
		p.fail(w, r, c, err)
		p.observer.Served("", c.status, 0)
		return
	}
	c.route = rt
	if len(rt.Targets()) == 0 {
		p.fail(w, r, c, errNoInstance)
		p.observer.Served(service, c.status, 0)
		return
	}
	if err := rt.Allow(); err != nil {
		p.fail(w, r, c, err)
		p.observer.Served(service, c.status, 0)
		return
	}
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callKey{}, c)))
	p.report(r, c)
	p.observer.Served(service, c.status, c.upstream)
}

// report closes the breaker call Allow opened. A client that hung up says
// nothing about the upstream, so it is not reported; a half-open breaker
// then lets another probe through after its interval.
func (p *Proxy) report(r *http.Request, c *call) {
	switch {
	case c.reached:
		c.route.Done(true)
	case r.Context().Err() == nil:
		c.route.Done(false)
	}
}

// split takes the service name and the rest of the path from r.
func (p *Proxy) split(r *http.Request, c *call) (service string, ok bool) {
	path, found := strings.CutPrefix(r.URL.Path, p.prefix)
	if !found || path == "" {
		return "", false
	}
	service, c.rest = path, "/"
	if i := strings.IndexByte(path, '/'); i >= 0 {
		service, c.rest = path[:i], path[i:]
	}
	if r.URL.RawPath != "" {
		// Keep the client's escapes (%2F stays %2F); service names have
		// nothing to escape, so prefix and name have the same length.
		c.rawRest = "/"
		if raw := r.URL.RawPath; len(raw) > len(p.prefix)+len(service) {
			c.rawRest = raw[len(p.prefix)+len(service):]
		}
	}
	return service, service != ""
}

func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	c := pr.In.Context().Value(callKey{}).(*call)
	t := c.route.Pick(nil)
	c.tried = append(c.triedBuf[:0], t)
	target(pr.Out, t, c)
	setXForwarded(pr, p.trustXFF)
}

// setXForwarded does what pr.SetXForwarded does, after copying the client's
// X-Forwarded-For first when trust is set, with the three header values in
// one allocation instead of three and no key canonicalization (the keys are
// constants already in canonical form). TestSetXForwardedMatchesHTTPUtil
// holds it to httputil's behaviour.
func setXForwarded(pr *httputil.ProxyRequest, trust bool) {
	h := pr.Out.Header
	v := make([]string, 3)
	if clientIP, _, err := net.SplitHostPort(pr.In.RemoteAddr); err == nil {
		if prior := pr.In.Header["X-Forwarded-For"]; trust && len(prior) > 0 {
			clientIP = strings.Join(prior, ", ") + ", " + clientIP
		}
		v[0] = clientIP
		h["X-Forwarded-For"] = v[0:1:1]
	} else {
		delete(h, "X-Forwarded-For")
	}
	v[1] = pr.In.Host
	h["X-Forwarded-Host"] = v[1:2:2]
	v[2] = "http"
	if pr.In.TLS != nil {
		v[2] = "https"
	}
	h["X-Forwarded-Proto"] = v[2:3:3]
}

// target points out at t, keeping the path after the service and the
// query string. The Host header becomes the instance's, as with SetURL;
// X-Forwarded-Host keeps the client's.
func target(out *http.Request, t *routing.Target, c *call) {
	base := t.URL
	out.URL.Scheme, out.URL.Host, out.Host = base.Scheme, base.Host, ""
	out.URL.Path = joinPath(base.Path, c.rest)
	out.URL.RawPath = ""
	if c.rawRest != "" {
		out.URL.RawPath = joinPath(base.EscapedPath(), c.rawRest)
	}
}

func joinPath(base, rest string) string {
	if base == "" || base == "/" {
		return rest
	}
	return strings.TrimSuffix(base, "/") + rest
}

func modifyResponse(resp *http.Response) error {
	if c, ok := resp.Request.Context().Value(callKey{}).(*call); ok {
		c.status = resp.StatusCode
	}
	return nil
}

func (p *Proxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	c, _ := r.Context().Value(callKey{}).(*call)
	p.fail(w, r, c, err)
}

type nopObserver struct{}

func (nopObserver) Resolved(routing.Source, error)    {}
func (nopObserver) Served(string, int, time.Duration) {}

var _ http.Handler = (*Proxy)(nil)
