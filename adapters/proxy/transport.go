package proxy

import (
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// retrier sends the request to the instance Rewrite chose and, when that
// instance could not be connected to or its connection broke before any
// answer came, to another one if the request is safe to repeat. It records
// each instance's reachability for passive ejection. It is the only place
// that knows attempts exist.
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
		if !replayable(req) || !retriable(err) {
			return nil, err
		}
		next := c.pick()
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

// retriable: the attempt failed at the connection level without an
// answer, so another instance may well answer: it could not be connected
// to (refused, unroutable, DNS failure, connect timeout), or the connection
// was closed or reset before a response came (an instance stopping, or
// crashing, with the request in flight). A request that was sent and timed
// out waiting is not retried: the instance may be slow rather than gone,
// and a retry would double its load. Only replayable requests get here.
func retriable(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED)
}
