package main

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vertice/vertice/adapters/proxy"
	"github.com/vertice/vertice/domain/breaker"
	"github.com/vertice/vertice/domain/routing"
)

// The gateway's metrics (documented in docs/bench-gateway.md too):
//
//	gateway_requests_total{service,code}            requests answered; service "" when the name did not resolve;
//	                                                a response cut mid-body is 502/504 (upstream) or 499 (client)
//	gateway_upstream_duration_seconds{service}      time to the upstream's response headers
//	gateway_cache_hits_total, gateway_cache_misses_total   route cache
//	gateway_route_source_total{source}              cache, registry, fallback, stale, error
//	gateway_breaker_state{target}                   0 closed, 1 open, 2 half-open; target "registry" or a service
//	gateway_rate_limited_total{service}             requests refused with 429 by <SERVICE>_RATE (this replica)
//
// Series of services the router forgot (gone or idle) are deleted (Forgot).
type stats struct {
	requests *prometheus.CounterVec
	upstream *prometheus.HistogramVec
	hits     prometheus.Counter
	misses   prometheus.Counter
	sources  [4]prometheus.Counter
	failed   prometheus.Counter
	limited  *prometheus.CounterVec
	// limitedOf holds the children of limited for every service with a
	// limit, created at start (so each series exists from 0); read only.
	limitedOf map[string]prometheus.Counter

	// The children of requests and upstream already used, so the hot path
	// skips the vectors' label hashing and locking. Filled on first use,
	// exactly when the vectors would create the series, so /metrics shows
	// the same series either way; as bounded as the label sets themselves.
	counters  sync.Map // served -> prometheus.Counter
	observers sync.Map // service -> prometheus.Observer
}

type served struct {
	service string
	code    int
}

// codes holds "100".."599" so labelling a request does not format a number.
var codes = func() (out [600]string) {
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}()

func newStats(reg prometheus.Registerer, router *routing.Router, limited []string) (*stats, error) {
	s := &stats{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_requests_total",
			Help: "Requests answered by the gateway, by service and status code."}, []string{"service", "code"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gateway_upstream_duration_seconds",
			Help:    "Time from sending a request upstream to its response headers.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}},
			[]string{"service"}),
		hits:   prometheus.NewCounter(prometheus.CounterOpts{Name: "gateway_cache_hits_total", Help: "Routes served from the cache."}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{Name: "gateway_cache_misses_total", Help: "Routes not in the cache (or expired)."}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_rate_limited_total",
			Help: "Requests refused with 429 because the service's rate limit on this gateway replica was reached."},
			[]string{"service"}),
		limitedOf: make(map[string]prometheus.Counter, len(limited)),
	}
	for _, service := range limited {
		s.limitedOf[service] = s.limited.WithLabelValues(service)
	}
	src := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_route_source_total",
		Help: "Where routes came from: cache, registry, fallback, stale, or error."}, []string{"source"})
	for i := range s.sources {
		s.sources[i] = src.WithLabelValues(routing.Source(i).String())
	}
	s.failed = src.WithLabelValues("error")
	for _, c := range []prometheus.Collector{s.requests, s.upstream, s.hits, s.misses, src, s.limited, breakerCollector{router}} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *stats) Resolved(src routing.Source, err error) {
	switch {
	case err != nil:
		s.misses.Inc()
		s.failed.Inc()
		return
	case src == routing.FromCache:
		s.hits.Inc()
	default:
		s.misses.Inc()
	}
	s.sources[src].Inc()
}

func (s *stats) Served(service string, code int, upstream time.Duration) {
	s.counter(service, code).Inc()
	if upstream > 0 {
		s.observer(service).Observe(upstream.Seconds())
	}
}

func (s *stats) counter(service string, code int) prometheus.Counter {
	key := served{service, code}
	if c, ok := s.counters.Load(key); ok {
		return c.(prometheus.Counter)
	}
	label := "other"
	if code >= 0 && code < len(codes) {
		label = codes[code]
	}
	c, _ := s.counters.LoadOrStore(key, s.requests.WithLabelValues(service, label))
	return c.(prometheus.Counter)
}

func (s *stats) observer(service string) prometheus.Observer {
	if o, ok := s.observers.Load(service); ok {
		return o.(prometheus.Observer)
	}
	o, _ := s.observers.LoadOrStore(service, s.upstream.WithLabelValues(service))
	return o.(prometheus.Observer)
}

// Forgot drops a service's series: the router forgot it (gone from the
// registry, or idle), and a series per service ever seen would grow
// forever. The breaker gauge needs nothing: it lists the router's services.
func (s *stats) Forgot(service string) {
	s.observers.Delete(service)
	s.counters.Range(func(k, _ any) bool {
		if k.(served).service == service {
			s.counters.Delete(k)
		}
		return true
	})
	s.requests.DeletePartialMatch(prometheus.Labels{"service": service})
	s.upstream.DeleteLabelValues(service)
}

// Limited counts a request refused by the service's rate limit. Only
// services with a limit are refused, and their series exist from start;
// their set is fixed, so Forgot leaves them.
func (s *stats) Limited(service string) {
	if c, ok := s.limitedOf[service]; ok {
		c.Inc()
		return
	}
	s.limited.WithLabelValues(service).Inc()
}

var _ proxy.Observer = (*stats)(nil)

// breakerCollector reads every breaker at scrape time, so the gauge is
// never stale and the hot path does no bookkeeping for it.
type breakerCollector struct{ router *routing.Router }

var breakerDesc = prometheus.NewDesc("gateway_breaker_state",
	"Circuit breaker state: 0 closed, 1 open, 2 half-open; target is \"registry\" or a service.", []string{"target"}, nil)

func (breakerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- breakerDesc }

func (b breakerCollector) Collect(ch chan<- prometheus.Metric) {
	b.router.States(b.router.Now(), func(target string, st breaker.State) {
		ch <- prometheus.MustNewConstMetric(breakerDesc, prometheus.GaugeValue, float64(st), target)
	})
}
