// Package promstats records the seed's Prometheus metrics from outside the
// core: HTTP middleware and gauge callbacks, registered on a Registerer the
// caller owns.
package promstats

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// Registry holds the registry's operation metrics.
type Registry struct {
	ops      *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewRegistry registers registry_operations_total,
// registry_operation_duration_seconds and registry_active_services on reg.
// countServices is called at scrape time for the active-services gauge, with
// a bounded context so a slow store cannot hang a scrape.
func NewRegistry(reg prometheus.Registerer, countServices func(context.Context) (int, error)) (*Registry, error) {
	r := &Registry{
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "registry_operations_total",
			Help: "Registry operations served, by operation and outcome (success, not_found, client_error, unavailable, error).",
		}, []string{"operation", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "registry_operation_duration_seconds",
			Help:    "Time to serve a registry operation, by operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"operation"}),
	}
	active := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "registry_active_services",
		Help: "Services with at least one live instance.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := countServices(ctx)
		if err != nil {
			return -1 // visible in dashboards; the alert on NoServices ignores it
		}
		return float64(n)
	})
	for _, c := range []prometheus.Collector{r.ops, r.duration, active} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Middleware times every request whose route is an operation (as named by
// operationOf) and counts it by outcome.
func (r *Registry) Middleware(operationOf func(method, route string) string) gin.HandlerFunc {
	return func(c *gin.Context) {
		op := operationOf(c.Request.Method, c.FullPath())
		if op == "" {
			c.Next()
			return
		}
		start := time.Now()
		c.Next()
		r.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
		r.ops.WithLabelValues(op, Outcome(c.Writer.Status())).Inc()
	}
}

// Outcome turns an HTTP status into the status label.
func Outcome(code int) string {
	switch {
	case code < 400:
		return "success"
	case code == http.StatusNotFound:
		return "not_found"
	case code == http.StatusServiceUnavailable:
		return "unavailable"
	case code < 500:
		return "client_error"
	default:
		return "error"
	}
}
