package registryclient

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/vertice/vertice/adapters/registryapi"
	"github.com/vertice/vertice/ports"
)

// ErrAnswerTooLarge is wrapped by a read whose answer exceeded
// MaxAnswerBytes: the registry answered, but with more than one answer may
// hold.
var ErrAnswerTooLarge = errors.New("registryclient: answer larger than the limit")

// Error is a failed call: Status is 0 when no answer came (network error,
// timeout, TLS), else the HTTP status with the registry's detail. Err is
// the cause when there is one (a transport error, or a 200 that could not
// be read). It wraps the ports sentinel the failure means, so callers
// decide with errors.Is.
type Error struct {
	Method, URL string
	Status      int
	Detail      string
	Err         error
	kind        error
}

func (e *Error) as(kind error) *Error { e.kind = kind; return e }

func (e *Error) Error() string {
	if e.Status == 0 {
		msg := fmt.Sprintf("registry %s %s: unreachable: %v", e.Method, e.URL, e.Err)
		if isCertificateError(e.Err) {
			msg += " (the registry's TLS certificate was not accepted: check the CA trusted for it and the server name)"
		}
		return msg
	}
	msg := fmt.Sprintf("registry %s %s: %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap exposes the sentinel (see readKind and writeKind) and the cause.
func (e *Error) Unwrap() []error {
	out := make([]error, 0, 2)
	if e.kind != nil {
		out = append(out, e.kind)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// badAnswer is a 200 that cannot be used: the registry answered (so it is
// not unavailable to a breaker that reads ErrBadAnswer first), but nothing
// in the answer can be routed to.
var badAnswer = errors.Join(ports.ErrBadAnswer, ports.ErrUnavailable)

// readKind is the gateway's table: 404 is a service the registry does not
// know; anything else that is not a usable 200 is the registry failing, so
// the caller can trip its breaker and fall back.
func readKind(status int) error {
	if status == http.StatusNotFound {
		return ports.ErrNotFound
	}
	return ports.ErrUnavailable
}

// writeKind is the sidecar's table: 404 re-register; other 4xx and a TLS
// certificate the client refuses mean the request or the configuration is
// wrong (retrying will not help until someone fixes it); anything else is
// an outage worth retrying.
func writeKind(status int, cause error) error {
	switch {
	case status == 0 && isCertificateError(cause):
		return ports.ErrRejected
	case status == http.StatusNotFound:
		return ports.ErrNotFound
	case status == http.StatusTooManyRequests, status == http.StatusRequestTimeout:
		return ports.ErrUnavailable
	case status >= 400 && status < 500:
		return ports.ErrRejected
	default:
		return ports.ErrUnavailable
	}
}

func isCertificateError(err error) bool {
	var verify *tls.CertificateVerificationError
	return errors.As(err, &verify)
}

// detailOf reads the registry's {"detail": "..."} or, from anything else in
// the way (a load balancer's HTML page), the start of the body.
func detailOf(b []byte) string {
	var e registryapi.Error
	if json.Unmarshal(b, &e) == nil && e.Detail != "" {
		return e.Detail
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
