package proxy

import (
	"errors"
	"net"
	"net/http"
	"time"
)

// retrier sends the request to the instance Rewrite chose and, when that
// instance could not even be connected to, to another one if the request is
// safe to repeat. It records each instance's reachability for passive
// ejection. It is the only place that knows attempts exist.
type retrier struct {
	inner http.RoundTripper
}

func (t *retrier) RoundTrip(req *http.Request) (*http.Response, error) {
	c, ok := req.Context().Value(callKey{}).(*call)
	if !ok {
		return t.inner.RoundTrip(req)
	}
	start := time.Now()
	defer func() { c.upstream = time.Since(start) }()
	for {
		resp, err := t.inner.RoundTrip(req)
		last := c.tried[len(c.tried)-1]
		if err == nil {
			c.route.Reached(last)
			c.reached = true
			return resp, nil
		}
		if req.Context().Err() != nil {
			return nil, err // the client left; not the instance's fault
		}
		c.route.Unreachable(last)
		if !replayable(req) || !neverSent(err) {
			return nil, err
		}
		next := c.route.Pick(c.tried)
		if next == nil {
			return nil, err
		}
		if req, err = retarget(req, c); err != nil {
			return nil, err
		}
		c.tried = append(c.tried, next)
		target(req, next, c)
	}
}

// retarget copies req for another attempt, with a fresh body when it has one.
func retarget(req *http.Request, c *call) (*http.Request, error) {
	out := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		out.Body = body
	}
	return out, nil
}

// replayable: the method means the same done twice as once, and the body
// (if any) can be produced again. An Idempotency-Key makes any method safe,
// as net/http's own transport assumes.
func replayable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
	default:
		if req.Header.Get("Idempotency-Key") == "" && req.Header.Get("X-Idempotency-Key") == "" {
			return false
		}
	}
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// neverSent: the connection was never established, so the instance saw no
// byte of the request (refused, unroutable, DNS failure, connect timeout).
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
