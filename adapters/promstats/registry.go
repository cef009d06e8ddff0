// Package promstats records the registry's Prometheus metrics (the v1
// API's names) from outside the core: it observes what the HTTP API
// served (ginapi.Observer) and reads gauges at scrape time, registered on
// a Registerer the caller owns.
package promstats

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Registry holds the registry's operation metrics.
type Registry struct {
	ops      *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// byOp caches each operation's children (*opMetrics by name), so a
	// request does not hash and look up its labels in the vectors.
	byOp sync.Map
}

// outcomes are the status label's values, indexed by outcomeIndex.
var outcomes = [...]string{"success", "not_found", "unavailable", "client_error", "error"}

// opMetrics holds one operation's histogram child and its counter children,
// each created on first use (as WithLabelValues would) so /metrics shows
// the same series as before.
type opMetrics struct {
	duration prometheus.Observer
	ops      [len(outcomes)]atomic.Pointer[prometheus.Counter]
}

func (r *Registry) metricsOf(op string) *opMetrics {
	if m, ok := r.byOp.Load(op); ok {
		return m.(*opMetrics)
	}
	fresh := &opMetrics{}
	if op != Watch {
		fresh.duration = r.duration.WithLabelValues(op)
	}
	m, _ := r.byOp.LoadOrStore(op, fresh)
	return m.(*opMetrics)
}

func (r *Registry) counter(m *opMetrics, op string, outcome int) prometheus.Counter {
	if c := m.ops[outcome].Load(); c != nil {
		return *c
	}
	c := r.ops.WithLabelValues(op, outcomes[outcome])
	m.ops[outcome].Store(&c)
	return c
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

// Watch is the operation of blocking reads: they are counted, not timed,
// as they last as long as the client asked to wait and would read as slow
// lookups in registry_operation_duration_seconds (and its latency alert).
const Watch = "watch"

// Served records one operation: its outcome by status code, and its
// duration unless it was a blocking read.
func (r *Registry) Served(op string, code int, took time.Duration) {
	m := r.metricsOf(op)
	if m.duration != nil {
		m.duration.Observe(took.Seconds())
	}
	r.counter(m, op, outcomeIndex(code)).Inc()
}

// Outcome turns an HTTP status into the status label.
func Outcome(code int) string { return outcomes[outcomeIndex(code)] }

func outcomeIndex(code int) int {
	switch {
	case code < 400:
		return 0 // success
	case code == http.StatusNotFound:
		return 1 // not_found
	case code == http.StatusServiceUnavailable:
		return 2 // unavailable
	case code < 500:
		return 3 // client_error
	default:
		return 4 // error
	}
}
