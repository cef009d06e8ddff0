package registryapi

// Health is GET /health: 200 whether healthy or degraded (a load
// balancer's probe reads the status code, an operator the body).
type Health struct {
	// Status is "healthy" or "degraded".
	Status string `json:"status"`
	// Reason says why, when degraded.
	Reason string `json:"reason,omitempty"`
	// Notifications says, on a shared backend, whether change
	// notifications keep this replica's copy of the catalog exact ("up",
	// or "down: …").
	Notifications string `json:"notifications,omitempty"`
	// Backend is "memory" or "redis".
	Backend string `json:"backend"`
	// Topology is how the replica reaches Redis: "single", "sentinel" or
	// "cluster" (absent on the memory store).
	Topology string `json:"topology,omitempty"`
	// Breaker is the state of the backend's circuit breaker: "closed",
	// "open" or "half-open".
	Breaker string `json:"breaker,omitempty"`
	// Version names the registry's build.
	Version string `json:"version,omitempty"`
}

// Healthy says whether Status is "healthy".
func (h Health) Healthy() bool { return h.Status == "healthy" }
