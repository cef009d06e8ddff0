package agent

import (
	"sync"
	"time"
)

// Phase is where the agent is in its life.
type Phase string

// The phases, in the order an agent normally goes through them.
const (
	PhaseWaiting     Phase = "waiting"     // waiting for the service's first 200
	PhaseRegistering Phase = "registering" // registering, retrying with backoff
	PhaseRegistered  Phase = "registered"  // registered, heartbeating
	PhaseStopped     Phase = "stopped"     // Run returned
)

// State is a snapshot of the agent, for the sidecar's status endpoint.
type State struct {
	Phase Phase
	// Registered is true while the registry is believed to hold the
	// instance: after a successful register or heartbeat, until a heartbeat
	// says otherwise.
	Registered bool
	// Status is the health last reported to the registry; Observed is the
	// latest probe's result.
	Status, Observed string
	// LastRenewal is when the lease was last restarted (register or heartbeat).
	LastRenewal time.Time
	// Counters since start.
	Registrations, Heartbeats, HeartbeatFailures uint64

	attempted bool // a registration was sent, so shutdown must deregister
}

// State returns a snapshot; safe to call from any goroutine.
func (a *Agent) State() State { return a.state.get() }

type stateBox struct {
	mu sync.Mutex
	s  State
}

func (b *stateBox) get() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.s
}

func (b *stateBox) set(f func(*State)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f(&b.s)
}
