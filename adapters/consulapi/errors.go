package consulapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vertice/vertice/adapters/ginapi"
	"github.com/vertice/vertice/adapters/registryapi"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
)

var errPermission = errors.New("permission denied: a write needs the registry's token " +
	"in X-Consul-Token or Authorization: Bearer")

// badRequest is a client mistake in the request: its shape, a parameter,
// or something Consul has that Vértice does not.
type badRequest struct{ msg string }

func (e badRequest) Error() string { return e.msg }

// conflict is a write Vértice refuses because it would change another
// registration than the one named.
type conflict struct{ msg string }

func (e conflict) Error() string { return e.msg }

// notFound is a check or service ID the registry does not know.
type notFound struct{ msg string }

func (e notFound) Error() string { return e.msg }

// statusOf is the one table from errors to HTTP status codes.
func statusOf(err error) int {
	var field *catalog.FieldError
	var bad badRequest
	var nf notFound
	var cf conflict
	switch {
	case errors.Is(err, errPermission):
		return http.StatusForbidden
	case errors.As(err, &field), errors.As(err, &bad):
		return http.StatusBadRequest
	case errors.As(err, &nf), errors.Is(err, ports.ErrNotFound):
		return http.StatusNotFound
	case errors.As(err, &cf), errors.Is(err, ports.ErrLimit):
		return http.StatusConflict
	case errors.Is(err, ports.ErrUnavailable):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// fail answers err as {"detail": "..."} with its status, as the native
// API does; Consul's clients show the body in their error.
func fail(c *gin.Context, err error) {
	status := statusOf(err)
	detail := err.Error()
	if status == http.StatusInternalServerError {
		detail = "internal error"
	}
	if status == http.StatusServiceUnavailable {
		c.Header("Retry-After", strconv.Itoa(retryAfterSeconds(err)))
	}
	_ = c.Error(err)
	c.AbortWithStatusJSON(status, registryapi.Error{Detail: detail})
}

func retryAfterSeconds(err error) int {
	var ra ginapi.RetryAfterError
	if errors.As(err, &ra) && ra.RetryAfter() > 0 {
		return int((ra.RetryAfter() + time.Second - 1) / time.Second)
	}
	return 5
}

// consulFields name the registration's fields as a Consul client sent
// them, so a refusal names the field the client can fix.
var consulFields = map[string]string{
	"service_name": "Name",
	"instance_id":  "ID",
	"endpoint":     "Address",
	"metadata":     "Meta",
	"tags":         "Tags",
	"ttl":          "Check.TTL",
}

// inConsulTerms renames a FieldError's field to the Consul field it came
// from (metadata.version becomes Meta.version, tags[2] Tags[2]).
func inConsulTerms(err error) error {
	var fe *catalog.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	for ours, theirs := range consulFields {
		if rest, ok := strings.CutPrefix(fe.Field, ours); ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
			rule := fe.Rule
			if ours == "service_name" {
				// Consul allows names Vértice does not (web-api): say so.
				rule += " (Vértice's service names are stricter than Consul's)"
			}
			return &catalog.FieldError{Field: theirs + rest, Rule: rule}
		}
	}
	return err
}
