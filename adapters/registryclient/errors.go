package registryclient

import (
	"fmt"

	"github.com/vertice/vertice/internal/plainhttp"
	"github.com/vertice/vertice/ports"
)

// Error is a failed call: Status is 0 when no answer came (network error,
// timeout), else the HTTP status with the registry's detail. It wraps the
// ports sentinel the status means, so callers decide with errors.Is.
type Error struct {
	Method, URL string
	Status      int
	Detail      string
	Err         error // the transport error when Status is 0
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("registry %s %s: unreachable: %v", e.Method, e.URL, e.Err)
	}
	msg := fmt.Sprintf("registry %s %s: %d %s", e.Method, e.URL, e.Status, plainhttp.StatusText(e.Status))
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Unwrap exposes the sentinel (see kindOf) and the transport error.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{kindOf(e.Status), e.Err}
	}
	return []error{kindOf(e.Status)}
}

// kindOf is the one table from the registry's answers to the sidecar's
// decisions: 404 re-register; 4xx the request itself is wrong (retrying
// will not help); anything else an outage worth retrying.
func kindOf(status int) error {
	switch {
	case status == 404:
		return ports.ErrNotFound
	case status == 429, status == 408:
		return ports.ErrUnavailable
	case status >= 400 && status < 500:
		return ports.ErrRejected
	default:
		return ports.ErrUnavailable
	}
}
