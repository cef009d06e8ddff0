package ginapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vertice/vertice/adapters/registryapi"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
)

// MaxBodyBytes bounds a request body; larger bodies get 413.
const MaxBodyBytes = 64 << 10

// RetryAfterError lets a store say how long writes will keep failing. It
// should wrap ports.ErrUnavailable.
type RetryAfterError interface {
	error
	RetryAfter() time.Duration
}

var (
	errUnauthorized = errors.New("missing or invalid bearer token in the Authorization header")
	errTooLarge     = fmt.Errorf("request body: must be at most %d bytes", MaxBodyBytes)
)

// badRequest is a client mistake in the request's shape, not its values.
type badRequest struct{ msg string }

func (e badRequest) Error() string { return e.msg }

// statusOf is the one table from errors to HTTP status codes.
func statusOf(err error) int {
	var field *catalog.FieldError
	var bad badRequest
	switch {
	case errors.Is(err, errUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.As(err, &field), errors.As(err, &bad):
		return http.StatusBadRequest
	case errors.Is(err, ports.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ports.ErrLimit):
		return http.StatusConflict
	case errors.Is(err, ports.ErrUnavailable):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// fail answers err as {"detail": "..."} with its status, and records it for
// the metrics middleware.
func fail(c *gin.Context, err error) {
	status := statusOf(err)
	detail := err.Error()
	if status == http.StatusInternalServerError {
		detail = "internal error"
	}
	if status == http.StatusServiceUnavailable {
		c.Header("Retry-After", strconv.Itoa(retryAfterSeconds(err)))
	}
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="vertice"`)
	}
	_ = c.Error(err)
	c.AbortWithStatusJSON(status, registryapi.Error{Detail: detail})
}

func retryAfterSeconds(err error) int {
	var ra RetryAfterError
	if errors.As(err, &ra) && ra.RetryAfter() > 0 {
		return int((ra.RetryAfter() + time.Second - 1) / time.Second)
	}
	return 5
}

// decode reads one JSON object strictly: unknown fields, trailing data and
// oversized bodies are refused with a message naming the problem.
func decode(c *gin.Context, into any) error {
	body := http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest{"request body: must hold a single JSON object"}
	}
	return nil
}

func decodeError(err error) error {
	var maxErr *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &maxErr):
		return errTooLarge
	case errors.Is(err, io.EOF):
		return badRequest{"request body: is empty; a JSON object is required"}
	case errors.As(err, &typeErr):
		return typeError(typeErr)
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest{"request body: malformed JSON: " + err.Error()}
	default:
		// encoding/json reports unknown fields as `json: unknown field "x"`.
		return badRequest{"request body: " + trimJSONPrefix(err.Error())}
	}
}

func typeError(e *json.UnmarshalTypeError) error {
	switch {
	case e.Field == "":
		return badRequest{"request body: must be a JSON object"}
	case e.Field == "metadata" && e.Type.Kind() == reflect.String:
		return &catalog.FieldError{Field: "metadata", Rule: "values must be JSON strings"}
	case e.Type.Kind() == reflect.Map:
		return &catalog.FieldError{Field: e.Field, Rule: "must be a JSON object of string values"}
	case e.Field == "tags" || strings.HasPrefix(e.Field, "tags."): // the list, or one of its elements
		return &catalog.FieldError{Field: "tags", Rule: "must be a JSON array of strings"}
	default:
		return &catalog.FieldError{Field: e.Field, Rule: "must be a JSON " + e.Type.Kind().String()}
	}
}

func trimJSONPrefix(s string) string {
	const p = "json: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}
