package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/vertice/vertice/domain/agent"
	"github.com/vertice/vertice/domain/catalog"
)

// metricsHandler serves GET /metrics: the agent's state, read at scrape
// time, in the Prometheus text format (version 0.0.4).
//
// Written here rather than through client_golang, unlike the registry and
// the gateway: six unlabelled values do not need a library, and
// client_golang links the protobuf runtime of its data model, about 2.5 MB
// of binary that a process this small keeps resident (RSS 10.7–11.7 MB
// instead of 7.7 MB at a 1 s heartbeat, over the 10 MB budget; see
// docs/bench-sidecar.md). metrics_test.go reads the output with the
// Prometheus text parser.
func metricsHandler(state func() agent.State) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write(metricsText(state()))
	})
}

func metricsText(s agent.State) []byte {
	var b bytes.Buffer
	writeMetric(&b, "vertice_sidecar_registered", "gauge", "1 while the registry holds this instance.", b2f(s.Registered))
	writeMetric(&b, "vertice_sidecar_service_healthy", "gauge", "1 when the last health probe answered 200.",
		b2f(s.Observed == catalog.StatusHealthy))
	writeMetric(&b, "vertice_sidecar_registrations_total", "counter", "Successful registrations.", float64(s.Registrations))
	writeMetric(&b, "vertice_sidecar_heartbeats_total", "counter", "Successful heartbeats.", float64(s.Heartbeats))
	writeMetric(&b, "vertice_sidecar_heartbeat_failures_total", "counter", "Failed heartbeats.", float64(s.HeartbeatFailures))
	writeMetric(&b, "vertice_sidecar_last_renewal_timestamp_seconds", "gauge",
		"Unix time of the last successful registration or heartbeat; 0 before the first.", unixSeconds(s.LastRenewal))
	return b.Bytes()
}

func writeMetric(w io.Writer, name, kind, help string, v float64) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %g\n", name, help, name, kind, name, v)
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
