package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/vertice/vertice/domain/agent"
	"github.com/vertice/vertice/domain/catalog"
)

// statusJSON is GET /health. The sidecar is healthy when the registry holds
// its instance; the service's own health is a separate field, so a sick
// service does not make its (working) sidecar look broken. The body never
// contains the word "unhealthy" for a 200, which serve.Healthcheck would read
// as a failure.
type statusJSON struct {
	Status         string      `json:"status"` // "healthy" when registered, else the phase
	Phase          agent.Phase `json:"phase"`
	Registered     bool        `json:"registered"`
	ServiceHealthy bool        `json:"service_healthy"`
}

// statusHandler serves GET /health (for -healthcheck and compose) and
// GET /metrics (a few counters in the Prometheus text format, written by
// hand to keep the client library out of the binary).
func statusHandler(a *agent.Agent) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		s := a.State()
		body := statusJSON{Status: string(s.Phase), Phase: s.Phase, Registered: s.Registered,
			ServiceHealthy: s.Observed == catalog.StatusHealthy}
		code := http.StatusServiceUnavailable
		if s.Registered {
			body.Status, code = "healthy", http.StatusOK
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		s := a.State()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		writeMetric(w, "vertice_sidecar_registered", "gauge", "1 while the registry holds this instance.", b2f(s.Registered))
		writeMetric(w, "vertice_sidecar_service_healthy", "gauge", "1 when the last health probe answered 200.",
			b2f(s.Observed == catalog.StatusHealthy))
		writeMetric(w, "vertice_sidecar_registrations_total", "counter", "Successful registrations.", float64(s.Registrations))
		writeMetric(w, "vertice_sidecar_heartbeats_total", "counter", "Successful heartbeats.", float64(s.Heartbeats))
		writeMetric(w, "vertice_sidecar_heartbeat_failures_total", "counter", "Failed heartbeats.", float64(s.HeartbeatFailures))
		writeMetric(w, "vertice_sidecar_last_renewal_timestamp_seconds", "gauge",
			"Unix time of the last successful registration or heartbeat; 0 before the first.", unixSeconds(s.LastRenewal))
	})
	return mux
}

func writeMetric(w http.ResponseWriter, name, kind, help string, v float64) {
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
