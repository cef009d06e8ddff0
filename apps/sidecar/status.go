package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/vertice/vertice/domain/agent"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/internal/plainhttp"
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
func statusHandler(a *agent.Agent) plainhttp.Handler {
	return func(path string) plainhttp.Answer {
		switch path {
		case "/health":
			return healthAnswer(a.State())
		case "/metrics":
			return plainhttp.Answer{Status: 200, ContentType: "text/plain; version=0.0.4; charset=utf-8",
				Body: metricsText(a.State())}
		default:
			return plainhttp.NotFound(path)
		}
	}
}

func healthAnswer(s agent.State) plainhttp.Answer {
	body := statusJSON{Status: string(s.Phase), Phase: s.Phase, Registered: s.Registered,
		ServiceHealthy: s.Observed == catalog.StatusHealthy}
	code := 503
	if s.Registered {
		body.Status, code = "healthy", 200
	}
	b, _ := json.Marshal(body) // cannot fail: strings and bools
	return plainhttp.Answer{Status: code, ContentType: "application/json", Body: append(b, '\n')}
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
