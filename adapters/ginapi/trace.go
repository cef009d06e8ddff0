package ginapi

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Tracer records a span per request (adapters/tracing.Server): Start
// continues the caller's trace, or starts one, with a span named name, and
// returns the context that carries it and the function that ends it with
// the status answered.
type Tracer interface {
	Start(r *http.Request, name string) (context.Context, func(status int))
}

// Traced opens a span around every request, named for its route as gin
// matched it ("GET /services/:name"), so names stay few whatever the paths.
// Consul's API (adapters/consulapi) uses it too.
func Traced(t Tracer) gin.HandlerFunc {
	return func(c *gin.Context) {
		route := c.FullPath()
		if route == "" {
			route = "(unmatched)"
		}
		ctx, end := t.Start(c.Request, c.Request.Method+" "+route)
		c.Request = c.Request.WithContext(ctx)
		c.Next()
		end(c.Writer.Status())
	}
}
