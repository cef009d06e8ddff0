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
	"sync/atomic"
	"time"

	"github.com/vertice/vertice/domain/routing"
)

// DefaultPrefix is the seed's dynamic-routing prefix.
const DefaultPrefix = "/v2/"

// Defaults for Options' zero values.
const (
	DefaultDialTimeout         = 2 * time.Second
	DefaultTimeout             = 30 * time.Second
	DefaultIdleTimeout         = 60 * time.Second
	DefaultMaxIdleConnsPerHost = 512
	DefaultVia                 = "vertice-gateway"
	DefaultMaxHops             = 3
)

// sweepEvery spaces the router's Forget passes (run on cache misses).
const sweepEvery = time.Second

// VersionHeader pins a request to the instances of one version
// (metadata.version), for A/B tests: a request carrying it goes only to
// that version, whatever the service's split, and is answered 404 when no
// live instance has it.
const VersionHeader = "X-Vertice-Version"

// Observer learns what the proxy did, for metrics; the proxy itself holds
// no metrics. Calls happen on the request's goroutine, so keep them cheap.
type Observer interface {
	// Resolved reports where a route came from (hit or miss of the cache).
	Resolved(src routing.Source, err error)
	// Served reports a finished request. service is "" when the name did not
	// resolve (so unknown names cannot inflate label sets); upstream is the
	// time to the upstream's response headers, zero if none was reached.
	// A response whose upstream failed after its headers (the client's
	// connection is then cut) is served with 502, or 504 when the upstream
	// went silent for Options.IdleTimeout.
	Served(service string, code int, upstream time.Duration)
	// Forgot reports that the router dropped a service (the registry no
	// longer knows it, or nobody routed to it for a while): its label
	// values can go. A later request for it is Served again as usual.
	Forgot(service string)
	// Limited reports a request the Limiter refused (it is also Served,
	// with 429).
	Limited(service string)
}

// Limiter caps the rate of requests per service. Allow reports whether a
// request for service may go now and, when not, how long until one may
// (Retry-After). It is asked before the service is resolved, so a refused
// request costs no registry lookup; services it has no limit for are
// always allowed. A nil Limiter limits nothing and costs nothing.
type Limiter interface {
	Allow(service string) (ok bool, wait time.Duration)
}

// Tracer records one span per request. Start is called as a request
// arrives (with the client's headers, so it can continue the client's
// trace); the Span it returns puts its context on the request to the
// upstream and learns how the request ended. A nil Tracer traces nothing
// and costs nothing.
type Tracer interface {
	Start(r *http.Request) Span
}

// Span is one request's span.
type Span interface {
	// Inject writes the span's context into the headers of the request to
	// the upstream (W3C traceparent), so the upstream continues the trace.
	Inject(h http.Header)
	// End records how the request ended; it is called exactly once.
	End(Outcome)
}

// Outcome is what a Span learns when its request ends.
type Outcome struct {
	Service  string        // as requested ("" when the path held none)
	Instance string        // the instance ID of the last attempt, "" if none was tried
	Version  string        // that instance's version
	Status   int           // as for Observer.Served (499: the client left)
	Upstream time.Duration // to the upstream's response headers, zero if none was reached
	Attempts int           // instances tried (retries are Attempts-1)
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
	// (UPSTREAM_TIMEOUT); the body then streams for as long as it takes,
	// as long as it keeps moving (IdleTimeout).
	Timeout time.Duration
	// IdleTimeout bounds silence on an upstream connection: a read or write
	// that makes no progress for this long fails (UPSTREAM_IDLE_TIMEOUT).
	// It is what frees both connections when an upstream stalls mid-body;
	// keep it above Timeout, which bounds the header wait more precisely.
	IdleTimeout time.Duration
	// WriteTimeout, when positive, bounds each write to the client: the
	// proxy moves the connection's write deadline (the server's
	// WriteTimeout, HTTP_WRITE_TIMEOUT) forward before every write, so a
	// long download that keeps moving is not cut, and a client that stops
	// reading is. Zero leaves the server's deadline alone.
	WriteTimeout time.Duration
	// Via is the pseudonym the proxy adds to the Via header of every
	// request it forwards ("1.1 vertice-gateway"); MaxHops is how many of
	// its own entries a request may already carry before it is refused with
	// 508 Loop Detected (an endpoint that points back at the gateway).
	Via     string
	MaxHops int
	// MaxIdleConnsPerHost sizes the keep-alive pool to each instance.
	MaxIdleConnsPerHost int
	// TrustForwarded keeps the client's X-Forwarded-For and appends to it;
	// off by default because the gateway is the edge and clients can lie.
	TrustForwarded bool
	// Transport replaces the tuned http.Transport (tests).
	Transport http.RoundTripper
	Observer  Observer
	// Limiter, when set, caps each service's request rate (429 past it).
	Limiter Limiter
	// Tracer, when set, records a span per request and propagates its
	// context to the upstream.
	Tracer Tracer
	Logger *slog.Logger
}

// Validate names the first bad field.
func (o Options) Validate() error {
	switch {
	case o.Router == nil:
		return errors.New("proxy: Options.Router is required")
	case o.Prefix != "" && (!strings.HasPrefix(o.Prefix, "/") || !strings.HasSuffix(o.Prefix, "/")):
		return fmt.Errorf("proxy: Options.Prefix %q must start and end with /", o.Prefix)
	case o.DialTimeout < 0, o.Timeout < 0, o.IdleTimeout < 0, o.WriteTimeout < 0, o.MaxIdleConnsPerHost < 0, o.MaxHops < 0:
		return errors.New("proxy: Options.DialTimeout, Timeout, IdleTimeout, WriteTimeout, MaxIdleConnsPerHost and MaxHops must not be negative")
	case strings.ContainsAny(o.Via, " ,()\t\r\n"):
		return fmt.Errorf("proxy: Options.Via %q must be one token (no spaces, commas or parentheses)", o.Via)
	}
	return nil
}

// Proxy is an http.Handler for the prefix's paths. Build it with New.
type Proxy struct {
	router    *routing.Router
	prefix    string
	rp        *httputil.ReverseProxy
	observer  Observer
	limiter   Limiter
	tracer    Tracer
	log       *slog.Logger
	trustXFF  bool
	writeFor  time.Duration
	via       string    // the pseudonym
	viaEntry  [2]string // "1.0 via", "1.1 via": what Rewrite appends
	maxHops   int
	lastSweep atomic.Int64 // Unix nanoseconds, router clock
}

// New builds the proxy and its upstream transport.
func New(o Options) (*Proxy, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	p := &Proxy{router: o.Router, prefix: o.Prefix, observer: o.Observer, limiter: o.Limiter, tracer: o.Tracer,
		log: o.Logger, trustXFF: o.TrustForwarded,
		writeFor: o.WriteTimeout, via: o.Via, viaEntry: [2]string{"1.0 " + o.Via, "1.1 " + o.Via}, maxHops: o.MaxHops}
	inner := o.Transport
	if inner == nil {
		inner = NewTransport(o.DialTimeout, o.Timeout, o.IdleTimeout, o.MaxIdleConnsPerHost)
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
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxIdleConnsPerHost == 0 {
		o.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
	}
	if o.Via == "" {
		o.Via = DefaultVia
	}
	if o.MaxHops == 0 {
		o.MaxHops = DefaultMaxHops
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
// keep-alive pool per instance, bounded connect and header waits, no
// transparent gzip (the client's Accept-Encoding passes through untouched),
// and, when idle is positive, connections that fail a read or write after
// idle without progress (see idleConn).
func NewTransport(dial, header, idle time.Duration, idlePerHost int) *http.Transport {
	return &http.Transport{
		Proxy:                 nil, // never route upstream traffic through HTTP_PROXY
		DialContext:           idleDialer(&net.Dialer{Timeout: dial, KeepAlive: 30 * time.Second}, idle),
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
	name     string // the service as requested
	pin      string // the version the request pins (VersionHeader), "" for none
	route    *routing.Route
	rest     string // path after the service, decoded, starting with "/"
	rawRest  string // the same, escaped, when the client sent escapes
	tried    []*routing.Target
	triedBuf [4]*routing.Target
	reached  bool
	status   int
	upstream time.Duration
	w        clientWriter // the client's ResponseWriter, write deadline moving
	body     upstreamBody // the upstream's response body, read errors kept
	span     Span         // nil unless tracing
}

// pick chooses the target of the call's next attempt: within the pinned
// version if the request pins one, else by the route's own rules.
func (c *call) pick() *routing.Target {
	if c.pin != "" {
		return c.route.PickVersion(c.pin, c.tried)
	}
	return c.route.Pick(c.tried)
}

type callKey struct{}

var calls = sync.Pool{New: func() any { return new(call) }}

// ServeHTTP resolves the service, consults its breaker, and proxies.
func (p *Proxy) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	c := calls.Get().(*call)
	*c = call{}
	defer calls.Put(c)
	c.w = clientWriter{ResponseWriter: rw, rc: *http.NewResponseController(rw), timeout: p.writeFor}
	w := &c.w
	if p.tracer != nil {
		c.span = p.tracer.Start(r)
		defer endSpan(c) // deferred: a response cut midway panics through here
	}
	service, err := p.split(r, c)
	if err != nil {
		p.fail(w, r, c, err)
		p.observer.Served("", c.status, 0)
		return
	}
	if p.limiter != nil {
		if ok, wait := p.limiter.Allow(service); !ok {
			p.fail(w, r, c, &limitedError{service: service, wait: wait})
			p.observer.Limited(service)
			p.observer.Served(service, c.status, 0)
			return
		}
	}
	rt, src, err := p.router.Resolve(r.Context(), service)
	p.observer.Resolved(src, err)
	if src != routing.FromCache || err != nil {
		p.sweep()
	}
	if err != nil {
		p.fail(w, r, c, err)
		p.observer.Served("", c.status, 0)
		return
	}
	c.route = rt
	if pin := r.Header[VersionHeader]; len(pin) > 0 {
		c.pin = pin[0]
	}
	if err := p.preflight(r, c); err != nil {
		p.fail(w, r, c, err)
		p.observer.Served(service, c.status, 0)
		return
	}
	p.forward(w, r, c)
	p.observer.Served(service, c.status, c.upstream)
}

// preflight refuses what must not be forwarded: a request that has looped
// through this gateway too often, a service with no instance, a pinned
// version no instance has, and (last, as it opens a breaker call that
// report must close) an open breaker.
func (p *Proxy) preflight(r *http.Request, c *call) error {
	if vias := r.Header["Via"]; len(vias) > 0 && hops(vias, p.via) >= p.maxHops {
		return errLoop
	}
	if len(c.route.Targets()) == 0 {
		return errNoInstance
	}
	if c.pin != "" && !c.route.HasVersion(c.pin) {
		return errNoVersion
	}
	return c.route.Allow()
}

// endSpan tells the request's span how it ended.
func endSpan(c *call) {
	o := Outcome{Service: c.name, Status: c.status, Upstream: c.upstream, Attempts: len(c.tried)}
	if n := len(c.tried); n > 0 && c.tried[n-1] != nil {
		o.Instance, o.Version = c.tried[n-1].InstanceID, c.tried[n-1].Version
	}
	c.span.End(o)
}

// forward proxies and reports the outcome to the service's breaker. When
// the response body fails midway, ReverseProxy panics with
// http.ErrAbortHandler so that net/http cuts the client's connection; the
// deferred accounting still runs, and the panic goes on to net/http.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, c *call) {
	done := false
	defer func() {
		if !done {
			p.aborted(r, c)
			p.observer.Served(c.route.Service(), c.status, c.upstream)
		}
	}()
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callKey{}, c)))
	done = true
	if c.body.err != nil { // cut short without the panic (outside a server)
		p.aborted(r, c)
		return
	}
	p.report(r, c)
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

// aborted accounts for a response cut after its headers went out: the
// upstream's fault when reading its body failed while the client was still
// there (502, or 504 when it went silent), else the client's (499).
func (p *Proxy) aborted(r *http.Request, c *call) {
	if err := c.body.err; err != nil && r.Context().Err() == nil {
		c.status = http.StatusBadGateway
		if statusOf(err) == http.StatusGatewayTimeout {
			c.status = http.StatusGatewayTimeout
		}
		c.route.Done(false)
		p.log.Warn("upstream failed mid-response", "service", c.route.Service(), "method", r.Method,
			"path", r.URL.Path, "status", c.status, "error", err.Error())
		return
	}
	c.status = StatusClientClosed
	p.report(r, c)
}

// sweep lets the router forget gone and idle services, at most once per
// sweepEvery; it runs on cache misses only, never on the hot path.
func (p *Proxy) sweep() {
	now := p.router.Now().UnixNano()
	last := p.lastSweep.Load()
	if now-last < int64(sweepEvery) || !p.lastSweep.CompareAndSwap(last, now) {
		return
	}
	p.router.Forget(p.router.Now(), p.observer.Forgot)
}

func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	c := pr.In.Context().Value(callKey{}).(*call)
	c.tried = c.triedBuf[:0]
	t := c.pick()
	c.tried = append(c.tried, t)
	target(pr.Out, t, c)
	setXForwarded(pr, p.trustXFF)
	p.setVia(pr)
	if c.span != nil {
		c.span.Inject(pr.Out.Header)
	}
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

// modifyResponse records the status and watches the body for a failure
// midway. A 101's body is the upgraded connection itself, which
// ReverseProxy needs unwrapped.
func modifyResponse(resp *http.Response) error {
	if c, ok := resp.Request.Context().Value(callKey{}).(*call); ok {
		c.status = resp.StatusCode
		if resp.StatusCode != http.StatusSwitchingProtocols {
			c.body.ReadCloser = resp.Body
			resp.Body = &c.body
		}
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
func (nopObserver) Forgot(string)                     {}
func (nopObserver) Limited(string)                    {}

var _ http.Handler = (*Proxy)(nil)
