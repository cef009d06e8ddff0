// Package agent is the sidecar's state machine: wait until the service is
// ready, register it, keep its lease alive with heartbeats, re-register when
// the registry forgets it, report its health in the metadata, and deregister
// on shutdown. Time only passes through the injected Clock and Sleeper, so
// tests run whole schedules without waiting.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/sethvargo/go-retry"

	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
)

// Defaults for the zero values of Config; the first three are the seed's.
const (
	DefaultHeartbeatInterval = 30 * time.Second
	DefaultInitialWait       = 60 * time.Second
	DefaultReadyPoll         = 500 * time.Millisecond
	DefaultBackoffBase       = time.Second
	DefaultBackoffMax        = 60 * time.Second
	DefaultDeregisterTimeout = 5 * time.Second
)

// DefaultHeartbeatJitter is the sidecar's HeartbeatJitter: each delay
// between heartbeats is the interval ±5 %. A few percent, as Consul's
// anti-entropy uses, is enough for sidecars started together (a deploy, a
// registry restart) to drift apart within minutes, and keeps every beat
// well inside a lease of two intervals.
const DefaultHeartbeatJitter = 0.05

// maxHeartbeatJitter keeps a beat at least half an interval after the last.
const maxHeartbeatJitter = 0.5

// jitterPercent spreads retries of many sidecars that lost the registry at
// the same moment, so they do not come back in lockstep.
const jitterPercent = 10

// Config says what to register and how often to talk to the registry. Every
// zero duration means the Default of the same name.
type Config struct {
	// Registration is what the sidecar registers. Its Metadata gets the
	// catalog.StatusKey entry overwritten with the latest health probe.
	Registration catalog.Registration
	// HeartbeatInterval is the time between heartbeats and health probes.
	HeartbeatInterval time.Duration
	// HeartbeatJitter spreads each delay between heartbeats uniformly over
	// HeartbeatInterval ± this fraction of it (0.05 is ±5 %), so that
	// sidecars started together do not stay in lockstep. Zero means none:
	// every beat exactly one interval after the last. At most 0.5.
	HeartbeatJitter float64
	// InitialWait bounds the wait for the service's first 200 before
	// registering anyway (reported unhealthy).
	InitialWait time.Duration
	// ReadyPoll is the time between probes while waiting for readiness.
	ReadyPoll time.Duration
	// BackoffBase and BackoffMax shape the registration retries: BackoffBase
	// doubling on each failure, never above BackoffMax, with jitter.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// DeregisterTimeout bounds the deregistration on shutdown, so a dead
	// registry cannot hold the process past its stop grace period.
	DeregisterTimeout time.Duration
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.HeartbeatInterval, DefaultHeartbeatInterval)
	def(&c.InitialWait, DefaultInitialWait)
	def(&c.ReadyPoll, DefaultReadyPoll)
	def(&c.BackoffBase, DefaultBackoffBase)
	def(&c.BackoffMax, DefaultBackoffMax)
	def(&c.DeregisterTimeout, DefaultDeregisterTimeout)
	c.BackoffBase = min(c.BackoffBase, c.BackoffMax)
	return c
}

// Deps are the agent's ports. A nil Clock or Sleeper means the real one; a
// nil Rand means math/rand/v2's; a nil Log discards.
type Deps struct {
	Registry ports.RegistryClient
	Probe    ports.HealthProbe
	Clock    ports.Clock
	Sleeper  ports.Sleeper
	// Rand returns a uniform number in [0, 1) for the heartbeat jitter;
	// tests pass a seeded one.
	Rand func() float64
	Log  *slog.Logger
}

// Agent runs one sidecar. Build it with New; Run it once.
type Agent struct {
	cfg     Config
	reg     catalog.Registration
	client  ports.RegistryClient
	probe   ports.HealthProbe
	clock   ports.Clock
	sleeper ports.Sleeper
	rand    func() float64
	log     *slog.Logger
	state   stateBox
}

// New checks the registration (so the agent never sends one the registry
// must refuse) and fills defaults.
func New(cfg Config, d Deps) (*Agent, error) {
	reg, err := cfg.Registration.Normalize()
	if err != nil {
		return nil, err
	}
	if d.Registry == nil || d.Probe == nil {
		return nil, errors.New("agent: Registry and Probe are required")
	}
	if cfg.HeartbeatJitter < 0 || cfg.HeartbeatJitter > maxHeartbeatJitter {
		return nil, fmt.Errorf("agent: HeartbeatJitter %v must be from 0 to %v", cfg.HeartbeatJitter, maxHeartbeatJitter)
	}
	if d.Rand == nil {
		d.Rand = rand.Float64
	}
	if d.Clock == nil {
		d.Clock = ports.SystemClock{}
	}
	if d.Sleeper == nil {
		d.Sleeper = ports.SystemSleeper{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	d.Log = d.Log.With("service", reg.ServiceName, "instance_id", reg.InstanceID)
	a := &Agent{cfg: cfg.withDefaults(), reg: reg, client: d.Registry, probe: d.Probe,
		clock: d.Clock, sleeper: d.Sleeper, rand: d.Rand, log: d.Log}
	a.state.set(func(s *State) { s.Phase = PhaseWaiting })
	return a, nil
}

// Run works until ctx ends, then deregisters the instance (if it ever tried
// to register it) and returns. The error is the deregistration's, if any:
// the instance then lingers until its lease expires.
func (a *Agent) Run(ctx context.Context) error {
	defer a.state.set(func(s *State) { s.Phase = PhaseStopped; s.Registered = false })
	healthy, err := a.waitReady(ctx)
	if err != nil {
		return nil // stopped before anything was registered
	}
	if err := a.register(ctx, statusOf(healthy)); err == nil {
		a.heartbeatLoop(ctx)
	}
	return a.deregister(ctx)
}

// waitReady probes until the service answers healthy or InitialWait passes;
// then the seed proceeds anyway, since a registry entry marked unhealthy is
// more useful than none.
func (a *Agent) waitReady(ctx context.Context) (healthy bool, err error) {
	a.log.Info("Waiting for service to be ready", "max_seconds", a.cfg.InitialWait.Seconds())
	deadline := a.clock.Now().Add(a.cfg.InitialWait)
	for attempt := 1; ; attempt++ {
		perr := a.probe.Check(ctx)
		a.state.set(func(s *State) { s.Observed = statusOf(perr == nil) })
		if perr == nil {
			a.log.Info("Service is READY", "attempts", attempt)
			return true, nil
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		left := deadline.Sub(a.clock.Now())
		if left <= 0 {
			a.log.Warn(fmt.Sprintf("Service did not respond with 200 OK after %s, proceeding anyway",
				seconds(a.cfg.InitialWait)), "attempts", attempt, "error", perr.Error())
			return false, nil
		}
		if err := a.sleeper.Sleep(ctx, min(a.cfg.ReadyPoll, left)); err != nil {
			return false, err
		}
	}
}

// register retries forever with capped exponential backoff: an outage of
// the registry must never make the sidecar give up. It fails only when ctx
// ends.
func (a *Agent) register(ctx context.Context, status string) error {
	a.state.set(func(s *State) { s.Phase = PhaseRegistering; s.Registered = false; s.attempted = true })
	a.log.Info("Starting registration process", "endpoint", a.reg.Endpoint, "status", status)
	backoff := newBackoff(a.cfg.BackoffBase, a.cfg.BackoffMax)
	for attempt := 1; ; attempt++ {
		err := a.client.Register(ctx, a.registration(status))
		if err == nil {
			a.markRegistered(status)
			a.log.Info("Service registered successfully", "attempts", attempt, "status", status)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		delay, _ := backoff.Next()
		a.log.Log(ctx, levelOf(err), "Retrying registration", "delay_seconds", delay.Seconds(),
			"attempt", attempt, "error", err.Error())
		if err := a.sleeper.Sleep(ctx, delay); err != nil {
			return err
		}
	}
}

// heartbeatLoop beats every interval (with jitter) until ctx ends. A failed
// beat is retried sooner (interval/8 doubling up to interval/2) so that one
// lost request, or a short outage, never lets a lease of two intervals
// expire.
func (a *Agent) heartbeatLoop(ctx context.Context) {
	interval := a.cfg.HeartbeatInterval
	a.log.Info("Starting heartbeat loop", "interval", interval.String(), "interval_seconds", interval.Seconds())
	delay := a.nextBeat()
	var quick retry.Backoff
	for failures := 0; ; {
		if a.sleeper.Sleep(ctx, delay) != nil {
			return
		}
		err := a.beat(ctx)
		switch {
		case err == nil:
			delay, quick, failures = a.nextBeat(), nil, 0
		case ctx.Err() != nil:
			return
		case errors.Is(err, ports.ErrNotFound):
			a.log.Warn("Registry does not know this instance, registering again", "error", err.Error())
			if a.register(ctx, a.state.get().Status) != nil {
				return
			}
			delay, quick, failures = a.nextBeat(), nil, 0
		default:
			failures++
			if quick == nil {
				quick = newBackoff(max(interval/8, time.Millisecond), max(interval/2, time.Millisecond))
			}
			delay, _ = quick.Next()
			a.log.Log(ctx, levelOf(err), "Heartbeat failed", "error", err.Error(),
				"consecutive_failures", failures, "retry_in_seconds", delay.Seconds())
		}
	}
}

// nextBeat is the delay until the next heartbeat: the interval, moved by
// up to ±HeartbeatJitter of it.
func (a *Agent) nextBeat() time.Duration {
	interval := a.cfg.HeartbeatInterval
	if a.cfg.HeartbeatJitter == 0 {
		return interval
	}
	spread := (2*a.rand() - 1) * a.cfg.HeartbeatJitter // in [-jitter, +jitter)
	return interval + time.Duration(spread*float64(interval))
}

// beat probes the service, then renews the lease. When the health changed it
// registers again instead: that replaces the metadata (so routers see the
// new status at once) and renews the lease in the same request.
func (a *Agent) beat(ctx context.Context) error {
	status := statusOf(a.probe.Check(ctx) == nil)
	a.state.set(func(s *State) { s.Observed = status })
	if reported := a.state.get().Status; status != reported {
		a.log.Warn("Service health changed, updating registration", "from", reported, "to", status)
		if err := a.client.Register(ctx, a.registration(status)); err != nil {
			a.state.set(func(s *State) { s.HeartbeatFailures++ })
			return err
		}
		a.markRegistered(status)
		return nil
	}
	if err := a.client.Heartbeat(ctx, a.reg.ServiceName, a.reg.InstanceID); err != nil {
		a.state.set(func(s *State) { s.HeartbeatFailures++ })
		return err
	}
	now := a.clock.Now()
	a.state.set(func(s *State) { s.Heartbeats++; s.LastRenewal = now; s.Registered = true })
	a.log.Info("Heartbeat sent", "status", status)
	return nil
}

// deregister runs after ctx ended, on a context of its own bounded by
// DeregisterTimeout, so the instance disappears at once instead of lingering
// for a whole lease.
func (a *Agent) deregister(ctx context.Context) error {
	if !a.state.get().attempted {
		return nil
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.DeregisterTimeout)
	defer cancel()
	err := a.client.Deregister(dctx, a.reg.ServiceName, a.reg.InstanceID)
	if err != nil && !errors.Is(err, ports.ErrNotFound) {
		a.log.Error("Deregistration failed; if the registry holds the instance it stays listed until its lease expires",
			"error", err.Error())
		return err
	}
	a.log.Info("Service unregistered")
	return nil
}

func (a *Agent) registration(status string) catalog.Registration {
	r := a.reg
	r.Metadata = make(map[string]string, len(a.reg.Metadata)+1)
	for k, v := range a.reg.Metadata {
		r.Metadata[k] = v
	}
	r.Metadata[catalog.StatusKey] = status
	return r
}

func (a *Agent) markRegistered(status string) {
	now := a.clock.Now()
	a.state.set(func(s *State) {
		s.Phase, s.Registered, s.Status, s.Observed = PhaseRegistered, true, status, status
		s.Registrations++
		s.LastRenewal = now
	})
}

// newBackoff doubles from base with ±10% jitter, and caps after the jitter
// so that no wait is ever longer than maxDelay.
func newBackoff(base, maxDelay time.Duration) retry.Backoff {
	return retry.WithCappedDuration(maxDelay, retry.WithJitterPercent(jitterPercent, retry.NewExponential(base)))
}

func statusOf(healthy bool) string {
	if healthy {
		return catalog.StatusHealthy
	}
	return catalog.StatusUnhealthy
}

// levelOf logs a refused request louder than an outage: retrying will not
// fix a bad token.
func levelOf(err error) slog.Level {
	if errors.Is(err, ports.ErrRejected) {
		return slog.LevelError
	}
	return slog.LevelWarn
}

// seconds writes 60s as the seed does ("60s", not "1m0s").
func seconds(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}
