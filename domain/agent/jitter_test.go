package agent_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vertice/vertice/domain/agent"
	"github.com/vertice/vertice/domain/catalog"
)

// beatTimes runs one agent with a seeded jitter until it has sent n
// heartbeats and returns their fake times.
func beatTimes(t *testing.T, seed uint64, jitter float64, n int) []time.Time {
	t.Helper()
	h := newHarness()
	h.cfg.HeartbeatJitter = jitter
	h.stopAfter("heartbeat", n)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.sleeper.OnSleep = func(time.Duration) {
		if h.stopWhen() {
			cancel()
		}
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	a, err := agent.New(h.cfg, agent.Deps{Registry: h.reg, Probe: probeFunc(func(time.Time) error { return nil }),
		Clock: h.clock, Sleeper: h.sleeper, Rand: rng.Float64})
	if err != nil {
		t.Fatal(err)
	}
	_ = a.Run(ctx)
	var out []time.Time
	for _, c := range h.reg.ops("heartbeat") {
		out = append(out, c.At)
	}
	if len(out) != n {
		t.Fatalf("want %d heartbeats, got %d", n, len(out))
	}
	return out
}

func TestHeartbeatDelaysVaryWithinTheJitter(t *testing.T) {
	iv := agent.DefaultHeartbeatInterval
	lo, hi := iv-iv/20, iv+iv/20
	beats := beatTimes(t, 1, agent.DefaultHeartbeatJitter, 50)
	prev, distinct := start, map[time.Duration]bool{}
	for i, at := range beats {
		gap := at.Sub(prev)
		if gap < lo || gap > hi {
			t.Fatalf("beat %d came %v after the last, want %v ±5%%", i+1, gap, iv)
		}
		distinct[gap.Round(10*time.Millisecond)] = true
		prev = at
	}
	if len(distinct) < 25 {
		t.Fatalf("50 delays took only %d distinct values: %v", len(distinct), distinct)
	}
}

// Two sidecars started at the same instant (a deploy, a registry restart)
// drift apart instead of beating in lockstep for ever.
func TestAgentsStartedTogetherDriftApart(t *testing.T) {
	const n = 40
	a, b := beatTimes(t, 1, agent.DefaultHeartbeatJitter, n), beatTimes(t, 2, agent.DefaultHeartbeatJitter, n)
	apart := 0
	for i := n / 2; i < n; i++ {
		if a[i].Sub(b[i]).Abs() > time.Second {
			apart++
		}
	}
	if apart < n/4 {
		t.Fatalf("only %d of the last %d beats are more than 1s apart: still in lockstep", apart, n/2)
	}
	// Without jitter they would be: same schedule to the nanosecond.
	x, y := beatTimes(t, 1, 0, 5), beatTimes(t, 2, 0, 5)
	for i := range x {
		if !x[i].Equal(y[i]) {
			t.Fatalf("jitter 0 must mean none: beat %d at %v and %v", i, x[i], y[i])
		}
	}
}

func TestNewRefusesAJitterOutOfRange(t *testing.T) {
	for _, j := range []float64{-0.01, 0.6} {
		_, err := agent.New(agent.Config{HeartbeatJitter: j, Registration: catalog.Registration{
			ServiceName: "svc", Endpoint: "http://x:1"}}, agent.Deps{Registry: &fakeRegistry{}, Probe: probeFunc(nil)})
		if err == nil {
			t.Errorf("HeartbeatJitter %v accepted", j)
		}
	}
}
