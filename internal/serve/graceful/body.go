package graceful

import (
	"io"
	"net/http"
	"time"
)

// bodyDeadline gives a request's body d to arrive, by a read deadline on
// the connection set when the handler starts. The deadline is lifted when
// the body ends: after that net/http reads the connection in the background
// to notice a client hanging up, and a deadline passing there would cancel
// the request's context under a handler that is still legitimately working.
// Requests without a body (most GETs) cost nothing.
func bodyDeadline(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			rc := http.NewResponseController(w)
			if rc.SetReadDeadline(time.Now().Add(d)) == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
			}
		}
		h.ServeHTTP(w, r)
	})
}

type deadlineBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	ended bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.ended {
		b.ended = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
