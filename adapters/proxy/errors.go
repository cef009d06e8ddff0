package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/vertice/vertice/domain/breaker"
	"github.com/vertice/vertice/domain/routing"
)

// StatusClientClosed is recorded (never sent) when the client hung up
// first, as nginx logs it.
const StatusClientClosed = 499

var (
	errBadPath    = errors.New("proxy: path must be /v2/{service}/{path}")
	errNoInstance = errors.New("proxy: the registry lists no usable endpoint")
)

// registryRetryAfter is what a client is told to wait when neither the
// registry nor a fallback can route it: about one cache refresh.
const registryRetryAfter = 5 * time.Second

// statusOf is the one table from errors to statuses.
func statusOf(err error) int {
	var netErr net.Error
	switch {
	case errors.Is(err, errBadPath), errors.Is(err, routing.ErrUnknownService):
		return http.StatusNotFound
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

// detail is the client's message: routing errors explain themselves, while
// upstream errors carry internal addresses and are only logged.
func detail(err error, status int, service string) string {
	switch status {
	case http.StatusBadGateway:
		return "upstream " + service + " is unreachable"
	case http.StatusGatewayTimeout:
		return "upstream " + service + " did not answer in time"
	}
	if errors.Is(err, breaker.ErrOpen) {
		return "upstream " + service + " is failing; its circuit breaker is open"
	}
	return err.Error()
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
		if c.route != nil {
			service = c.route.Service()
		}
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
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", strconv.Itoa(p.retryAfter(err)))
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Detail string `json:"detail"`
	}{detail(err, status, service)})
}

func (p *Proxy) retryAfter(err error) int {
	d := registryRetryAfter
	if errors.Is(err, breaker.ErrOpen) {
		d = p.router.UpstreamOpenFor()
	}
	return int((d + time.Second - 1) / time.Second)
}
