package main

import (
	"encoding/json"
	"net/http"

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
// GET /metrics; other paths are 404, other methods 405.
func statusHandler(a *agent.Agent, metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { writeHealth(w, a.State()) })
	mux.Handle("GET /metrics", metrics)
	return mux
}

func writeHealth(w http.ResponseWriter, s agent.State) {
	body := statusJSON{Status: string(s.Phase), Phase: s.Phase, Registered: s.Registered,
		ServiceHealthy: s.Observed == catalog.StatusHealthy}
	code := http.StatusServiceUnavailable
	if s.Registered {
		body.Status, code = "healthy", http.StatusOK
	}
	b, _ := json.Marshal(body) // cannot fail: strings and bools
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
