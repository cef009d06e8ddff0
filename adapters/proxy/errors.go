package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vertice/vertice/domain/breaker"
	"github.com/vertice/vertice/domain/routing"
)

// StatusClientClosed is recorded (never sent) when the client hung up
// first, as nginx logs it.
const StatusClientClosed = 499

// StatusLoopDetected answers a request that already went through the
// gateway Options.MaxHops times (RFC 5842's 508).
const StatusLoopDetected = http.StatusLoopDetected

var (
	errBadPath    = errors.New("proxy: path must be /v2/{service}/{path}")
	errDotSegment = errors.New("proxy: path must not contain . or .. segments")
	errNoInstance = errors.New("proxy: the registry lists no usable endpoint")
	errLoop       = errors.New("proxy: forwarding loop")
	errNoVersion  = errors.New("proxy: no live instance has the pinned version")
)

// limitedError is a request the Limiter refused; wait is how long until
// one would be allowed.
type limitedError struct {
	service string
	wait    time.Duration
}

func (e *limitedError) Error() string {
	return "proxy: rate limit of " + e.service + " exceeded"
}

// registryRetryAfter is what a client is told to wait when neither the
// registry nor a fallback can route it: about one cache refresh.
const registryRetryAfter = 5 * time.Second

// statusOf is the one table from errors to statuses.
func statusOf(err error) int {
	var netErr net.Error
	var limited *limitedError
	switch {
	case errors.Is(err, errBadPath), errors.Is(err, routing.ErrUnknownService), errors.Is(err, errNoVersion):
		return http.StatusNotFound
	case errors.As(err, &limited):
		return http.StatusTooManyRequests
	case errors.Is(err, errDotSegment):
		return http.StatusBadRequest
	case errors.Is(err, errLoop):
		return StatusLoopDetected
	case errors.Is(err, breaker.ErrOpen), errors.Is(err, routing.ErrRegistryUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled):
		return StatusClientClosed
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return http.StatusGatewayTimeout
	default:
		return http.StatusBadGateway
	}
}

// detail is the client's message: stable, written here for each kind of
// error, never the error's own text when that can carry internals (the
// registry's address, "dial tcp ..."); fail logs the error itself.
// Routing's unknown-service errors are the exception: they name only the
// service and the rule it broke.
func (p *Proxy) detail(err error, status int, c *call) string {
	service := ""
	if c != nil {
		service = c.name
	}
	var limited *limitedError
	switch {
	case errors.As(err, &limited):
		return "too many requests for " + service + ": over its rate limit on this gateway; retry after " +
			strconv.Itoa(seconds(limited.wait)) + " s"
	case status == http.StatusBadGateway:
		return "upstream " + service + " is unreachable"
	case status == http.StatusGatewayTimeout:
		return "upstream " + service + " did not answer in time"
	case errors.Is(err, breaker.ErrOpen):
		return "upstream " + service + " is failing; its circuit breaker is open"
	case errors.Is(err, routing.ErrRegistryUnavailable):
		return "cannot route " + service + ": the service registry is unreachable and " +
			strings.ToUpper(service) + "_URL is not set; retry later"
	case errors.Is(err, routing.ErrUnknownService):
		return strings.TrimPrefix(err.Error(), "routing: ")
	case errors.Is(err, errBadPath):
		return "no such service path: use " + p.prefix + "{service}/{path} with the service name as registered, unescaped"
	case errors.Is(err, errDotSegment):
		return "the path after the service must not contain . or .. segments (escaped or not)"
	case errors.Is(err, errLoop):
		return fmt.Sprintf("forwarding loop: the request already went through %s %d times (Via); "+
			"check the endpoint registered for %s", p.via, p.maxHops, service)
	case errors.Is(err, errNoInstance):
		return "the registry lists no usable endpoint for " + service
	case errors.Is(err, errNoVersion):
		return "no live instance of " + service + " has version " + quoteVersion(c.pin) + " (" + VersionHeader +
			"); send the header only with a version the registry lists, or leave it out"
	}
	return "the gateway could not forward the request"
}

// fail answers err as {"detail": ...}. c may be nil only for errors raised
// before a call exists.
func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, c *call, err error) {
	status := statusOf(err)
	if r.Context().Err() != nil {
		status = StatusClientClosed
	}
	service := ""
	if c != nil {
		c.status = status
		service = c.name
	}
	if status == StatusClientClosed {
		return // nobody is listening
	}
	if status >= 500 {
		p.log.Warn("proxy error", "service", service, "method", r.Method, "path", r.URL.Path,
			"status", status, "error", err.Error())
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		h.Set("Retry-After", strconv.Itoa(p.retryAfter(err)))
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Detail string `json:"detail"`
	}{p.detail(err, status, c)})
}

func (p *Proxy) retryAfter(err error) int {
	d := registryRetryAfter
	var limited *limitedError
	switch {
	case errors.Is(err, breaker.ErrOpen):
		d = p.router.UpstreamOpenFor()
	case errors.As(err, &limited):
		d = limited.wait
	}
	return seconds(d)
}

// seconds is d in whole seconds, rounded up, at least 1: Retry-After has
// no smaller unit, and 0 would invite an immediate retry.
func seconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// quoteVersion echoes a client's version in a message, quoted, and cut
// when it is long: it is the client's own text.
func quoteVersion(v string) string {
	const maxLen = 64
	if len(v) > maxLen {
		v = v[:maxLen] + "..."
	}
	return strconv.Quote(v)
}
