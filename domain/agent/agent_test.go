package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vertice/vertice/domain/agent"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
	"github.com/vertice/vertice/ports/portstest"
)

var start = time.Date(2025, 10, 24, 12, 0, 0, 0, time.UTC)

// call is one request the fake registry received, at fake time At.
type call struct {
	Op     string // register, heartbeat, deregister
	At     time.Time
	Status string // metadata status sent with a register
	CtxErr error  // the context's state when the call arrived
}

// fakeRegistry answers from scripted functions and records every call.
type fakeRegistry struct {
	clock      *portstest.FakeClock
	register   func(n int) error // n counts register calls from 1
	heartbeat  func(n int) error
	deregister func() error

	mu    sync.Mutex
	calls []call
	regs  []catalog.Registration
}

func (f *fakeRegistry) record(op, status string, ctx context.Context) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{Op: op, At: f.clock.Now(), Status: status, CtxErr: ctx.Err()})
	n := 0
	for _, c := range f.calls {
		if c.Op == op {
			n++
		}
	}
	return n
}

func (f *fakeRegistry) Register(ctx context.Context, r catalog.Registration) error {
	n := f.record("register", r.Metadata[catalog.StatusKey], ctx)
	f.mu.Lock()
	f.regs = append(f.regs, r)
	f.mu.Unlock()
	if f.register != nil {
		return f.register(n)
	}
	return nil
}

func (f *fakeRegistry) Heartbeat(ctx context.Context, service, id string) error {
	n := f.record("heartbeat", "", ctx)
	if f.heartbeat != nil {
		return f.heartbeat(n)
	}
	return nil
}

func (f *fakeRegistry) Deregister(ctx context.Context, service, id string) error {
	f.record("deregister", "", ctx)
	if _, ok := ctx.Deadline(); !ok {
		return errors.New("deregister without a deadline")
	}
	if f.deregister != nil {
		return f.deregister()
	}
	return nil
}

func (f *fakeRegistry) ops(op string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if op == "" || c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

// probeFunc adapts a function of the fake time to ports.HealthProbe.
type probeFunc func(now time.Time) error

func (p probeFunc) Check(context.Context) error { return p(time.Time{}) }

// harness wires an agent to fakes; stopWhen cancels Run when it turns true
// after a sleep, and a 48 h fake-time fuse stops runaway loops.
type harness struct {
	clock    *portstest.FakeClock
	sleeper  *portstest.FakeSleeper
	reg      *fakeRegistry
	healthy  func(now time.Time) bool
	logs     bytes.Buffer
	stopWhen func() bool
	cfg      agent.Config
}

func newHarness() *harness {
	clock := portstest.NewFakeClock(start)
	h := &harness{
		clock:   clock,
		sleeper: portstest.NewFakeSleeper(clock),
		reg:     &fakeRegistry{clock: clock},
		healthy: func(time.Time) bool { return true },
		cfg: agent.Config{Registration: catalog.Registration{
			ServiceName: "osint_service", Endpoint: "http://vertice-osint:8049",
			Metadata: map[string]string{"version": "1.0.0"},
		}},
	}
	return h
}

func (h *harness) run(t *testing.T) (*agent.Agent, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.sleeper.OnSleep = func(time.Duration) {
		if (h.stopWhen != nil && h.stopWhen()) || h.clock.Now().Sub(start) > 48*time.Hour {
			cancel()
		}
	}
	probe := probeFunc(func(time.Time) error {
		if h.healthy(h.clock.Now()) {
			return nil
		}
		return errors.New("503 Service Unavailable")
	})
	a, err := agent.New(h.cfg, agent.Deps{Registry: h.reg, Probe: probe, Clock: h.clock, Sleeper: h.sleeper,
		Log: slog.New(slog.NewJSONHandler(&h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	return a, a.Run(ctx)
}

// logged returns the log records whose msg starts with prefix.
func (h *harness) logged(prefix string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && strings.HasPrefix(fmt.Sprint(rec["msg"]), prefix) {
			out = append(out, rec)
		}
	}
	return out
}

func (h *harness) stopAfter(op string, n int) {
	h.stopWhen = func() bool { return len(h.reg.ops(op)) >= n }
}

func TestRegistersAsSoonAsTheServiceAnswers200(t *testing.T) {
	h := newHarness()
	readyAt := start.Add(2 * time.Second)
	h.healthy = func(now time.Time) bool { return !now.Before(readyAt) }
	h.stopAfter("register", 1)
	if _, err := h.run(t); err != nil {
		t.Fatal(err)
	}
	regs := h.reg.ops("register")
	if len(regs) != 1 || !regs[0].At.Equal(readyAt) || regs[0].Status != catalog.StatusHealthy {
		t.Fatalf("want one healthy register at %v, got %+v", readyAt, regs)
	}
	ready := h.logged("Service is READY")
	if len(ready) != 1 || ready[0]["attempts"] != float64(5) { // probes at 0, .5, 1, 1.5, 2 s
		t.Fatalf("want Service is READY with attempts=5, got %v", ready)
	}
	if got := h.reg.regs[0].Metadata["version"]; got != "1.0.0" {
		t.Fatalf("configured metadata lost: version=%q", got)
	}
}

func TestProceedsUnhealthyAfterInitialWait(t *testing.T) {
	h := newHarness()
	h.healthy = func(time.Time) bool { return false }
	h.stopAfter("register", 1)
	if _, err := h.run(t); err != nil {
		t.Fatal(err)
	}
	regs := h.reg.ops("register")
	if len(regs) != 1 || !regs[0].At.Equal(start.Add(agent.DefaultInitialWait)) || regs[0].Status != catalog.StatusUnhealthy {
		t.Fatalf("want one unhealthy register after 60s, got %+v", regs)
	}
	if len(h.logged("Service did not respond with 200 OK after 60s, proceeding anyway")) != 1 {
		t.Fatalf("seed's warning missing from logs:\n%s", h.logs.String())
	}
}

func TestRegistrationBacksOffExponentiallyUpToTheCap(t *testing.T) {
	h := newHarness()
	const failures = 9
	h.reg.register = func(n int) error {
		if n <= failures {
			return fmt.Errorf("dial tcp: connection refused: %w", ports.ErrUnavailable)
		}
		return nil
	}
	h.stopAfter("register", failures+1)
	if _, err := h.run(t); err != nil {
		t.Fatal(err)
	}
	regs := h.reg.ops("register")
	if len(regs) != failures+1 {
		t.Fatalf("want %d register attempts, got %d", failures+1, len(regs))
	}
	for i := 1; i < len(regs); i++ {
		want := min(time.Second<<(i-1), agent.DefaultBackoffMax)
		gap := regs[i].At.Sub(regs[i-1].At)
		lo := time.Duration(float64(want) * 0.9)
		if gap < lo || gap > min(time.Duration(float64(want)*1.1), agent.DefaultBackoffMax) {
			t.Errorf("retry %d waited %v, want %v ±10%% and never above %v", i, gap, want, agent.DefaultBackoffMax)
		}
	}
	if got := len(h.logged("Retrying registration")); got != failures {
		t.Fatalf("want %d 'Retrying registration' records, got %d", failures, got)
	}
	if d := h.logged("Retrying registration")[0]["delay_seconds"].(float64); d < 0.9 || d > 1.1 {
		t.Fatalf("first retry delay_seconds=%v, want about 1", d)
	}
}

func TestHeartbeatsEveryIntervalThenDeregistersOnCancel(t *testing.T) {
	h := newHarness()
	h.stopAfter("heartbeat", 3)
	a, err := h.run(t)
	if err != nil {
		t.Fatal(err)
	}
	beats := h.reg.ops("heartbeat")
	for i, b := range beats {
		if want := start.Add(time.Duration(i+1) * agent.DefaultHeartbeatInterval); !b.At.Equal(want) {
			t.Fatalf("heartbeat %d at %v, want %v", i+1, b.At, want)
		}
	}
	dereg := h.reg.ops("deregister")
	if len(dereg) != 1 || dereg[0].CtxErr != nil {
		t.Fatalf("want one deregister on a live context, got %+v", dereg)
	}
	if len(h.logged("Service unregistered")) != 1 {
		t.Fatal("'Service unregistered' not logged")
	}
	if s := a.State(); s.Phase != agent.PhaseStopped || s.Registered || s.Heartbeats != 3 {
		t.Fatalf("final state %+v", s)
	}
}

func TestHeartbeat404RegistersAgainAtOnce(t *testing.T) {
	h := newHarness()
	h.reg.heartbeat = func(n int) error {
		if n == 2 {
			return fmt.Errorf("instance unknown: %w", ports.ErrNotFound)
		}
		return nil
	}
	h.stopAfter("heartbeat", 3)
	if _, err := h.run(t); err != nil {
		t.Fatal(err)
	}
	all := h.reg.ops("")
	// register, heartbeat, heartbeat(404), register at the same instant, heartbeat one interval later.
	wantOps := []string{"register", "heartbeat", "heartbeat", "register", "heartbeat", "deregister"}
	if len(all) != len(wantOps) {
		t.Fatalf("calls %+v", all)
	}
	for i, c := range all {
		if c.Op != wantOps[i] {
			t.Fatalf("call %d is %s, want %s (%+v)", i, c.Op, wantOps[i], all)
		}
	}
	if !all[3].At.Equal(all[2].At) {
		t.Fatalf("re-register at %v, 404 at %v: want no wait", all[3].At, all[2].At)
	}
	if all[4].At.Sub(all[3].At) != agent.DefaultHeartbeatInterval {
		t.Fatalf("heartbeat after re-register came %v later", all[4].At.Sub(all[3].At))
	}
}

func TestFailedHeartbeatsRetryBeforeTheLeaseExpires(t *testing.T) {
	h := newHarness()
	// Beats 2-4 fail: with a lease of two intervals (the seed's 60 s TTL
	// over 30 s beats) the 5th must land before the lease from beat 1 ends.
	h.reg.heartbeat = func(n int) error {
		if n >= 2 && n <= 4 {
			return fmt.Errorf("503: %w", ports.ErrUnavailable)
		}
		return nil
	}
	h.stopAfter("heartbeat", 5)
	if _, err := h.run(t); err != nil {
		t.Fatal(err)
	}
	beats := h.reg.ops("heartbeat")
	lease := 2 * agent.DefaultHeartbeatInterval
	if gap := beats[4].At.Sub(beats[0].At); gap >= lease {
		t.Fatalf("renewals %v apart despite retries; the %v lease would have expired", gap, lease)
	}
	if len(h.reg.ops("register")) != 1 {
		t.Fatal("a failed heartbeat must not re-register; only a 404 does")
	}
	if got := len(h.logged("Heartbeat failed")); got != 3 {
		t.Fatalf("want 3 'Heartbeat failed' records, got %d", got)
	}
}

func TestHealthChangesAreReportedInMetadata(t *testing.T) {
	h := newHarness()
	iv := agent.DefaultHeartbeatInterval
	sickFrom, wellFrom := start.Add(2*iv), start.Add(4*iv)
	h.healthy = func(now time.Time) bool { return now.Before(sickFrom) || !now.Before(wellFrom) }
	h.stopWhen = func() bool { return h.clock.Now().After(start.Add(5 * iv)) }
	if _, err := h.run(t); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range h.reg.ops("register") {
		got = append(got, c.Status+"@"+c.At.Sub(start).String())
	}
	want := []string{"healthy@0s", "unhealthy@1m0s", "healthy@2m0s"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("registrations %v, want %v", got, want)
	}
}

func TestCancelWhileWaitingSendsNothing(t *testing.T) {
	h := newHarness()
	h.healthy = func(time.Time) bool { return false }
	h.stopWhen = func() bool { return h.clock.Now().Sub(start) >= 10*time.Second }
	a, err := h.run(t)
	if err != nil || len(h.reg.ops("")) != 0 {
		t.Fatalf("err=%v calls=%+v; want no calls", err, h.reg.ops(""))
	}
	if a.State().Phase != agent.PhaseStopped {
		t.Fatalf("phase %s", a.State().Phase)
	}
}

func TestCancelWhileRetryingRegistrationStillDeregisters(t *testing.T) {
	// A register that timed out on our side may have landed on the registry.
	h := newHarness()
	h.reg.register = func(int) error { return ports.ErrUnavailable }
	h.stopAfter("register", 3)
	if _, err := h.run(t); err != nil {
		t.Fatal(err)
	}
	if len(h.reg.ops("deregister")) != 1 {
		t.Fatal("want a deregister after cancel")
	}
}

func TestDeregisterFailureIsReturned(t *testing.T) {
	h := newHarness()
	h.reg.deregister = func() error { return ports.ErrUnavailable }
	h.stopAfter("heartbeat", 1)
	if _, err := h.run(t); !errors.Is(err, ports.ErrUnavailable) {
		t.Fatalf("Run returned %v, want the deregistration error", err)
	}
}

func TestNewRefusesAnInvalidServiceName(t *testing.T) {
	_, err := agent.New(agent.Config{Registration: catalog.Registration{
		ServiceName: "OSINT-Service", Endpoint: "http://x:1"}}, agent.Deps{Registry: &fakeRegistry{}, Probe: probeFunc(nil)})
	if err == nil || !strings.Contains(err.Error(), "uppercase") {
		t.Fatalf("want the naming rule, got %v", err)
	}
}

// BenchmarkHeartbeatCycle measures the agent's own cost per beat (probe,
// heartbeat, state update), without I/O.
func BenchmarkHeartbeatCycle(b *testing.B) {
	clock := portstest.NewFakeClock(start)
	sleeper := portstest.NewFakeSleeper(clock)
	reg := &nopRegistry{}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	sleeper.OnSleep = func(time.Duration) {
		if n++; n > b.N {
			cancel()
		}
	}
	a, err := agent.New(agent.Config{Registration: catalog.Registration{ServiceName: "bench", Endpoint: "http://x:1"}},
		agent.Deps{Registry: reg, Probe: probeFunc(func(time.Time) error { return nil }), Clock: clock, Sleeper: sleeper})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	_ = a.Run(ctx)
}

type nopRegistry struct{}

func (nopRegistry) Register(context.Context, catalog.Registration) error { return nil }
func (nopRegistry) Heartbeat(context.Context, string, string) error      { return nil }
func (nopRegistry) Deregister(context.Context, string, string) error     { return nil }
