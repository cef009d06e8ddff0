package main

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vertice/vertice/domain/agent"
	"github.com/vertice/vertice/domain/catalog"
)

// stateCollector exports the agent's state, read at scrape time: the agent
// keeps its own counters, so nothing is recorded between scrapes.
type stateCollector struct {
	state func() agent.State
}

var (
	registeredDesc = prometheus.NewDesc("vertice_sidecar_registered",
		"1 while the registry holds this instance.", nil, nil)
	serviceHealthyDesc = prometheus.NewDesc("vertice_sidecar_service_healthy",
		"1 when the last health probe answered 200.", nil, nil)
	registrationsDesc = prometheus.NewDesc("vertice_sidecar_registrations_total",
		"Successful registrations.", nil, nil)
	heartbeatsDesc = prometheus.NewDesc("vertice_sidecar_heartbeats_total",
		"Successful heartbeats.", nil, nil)
	heartbeatFailuresDesc = prometheus.NewDesc("vertice_sidecar_heartbeat_failures_total",
		"Failed heartbeats.", nil, nil)
	lastRenewalDesc = prometheus.NewDesc("vertice_sidecar_last_renewal_timestamp_seconds",
		"Unix time of the last successful registration or heartbeat; 0 before the first.", nil, nil)
)

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{registeredDesc, serviceHealthyDesc, registrationsDesc,
		heartbeatsDesc, heartbeatFailuresDesc, lastRenewalDesc} {
		ch <- d
	}
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.state()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge(registeredDesc, b2f(s.Registered))
	gauge(serviceHealthyDesc, b2f(s.Observed == catalog.StatusHealthy))
	counter(registrationsDesc, s.Registrations)
	counter(heartbeatsDesc, s.Heartbeats)
	counter(heartbeatFailuresDesc, s.HeartbeatFailures)
	gauge(lastRenewalDesc, unixSeconds(s.LastRenewal))
}

// newMetrics is GET /metrics: the agent's state on a registry of the
// sidecar's own (no global registry).
func newMetrics(state func() agent.State) (http.Handler, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(stateCollector{state: state}); err != nil {
		return nil, err
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), nil
}

// unixSeconds keeps the zero time at 0, so an alert can tell "never" apart.
func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
