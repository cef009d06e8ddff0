package breaker

import (
	"errors"
	"testing"
	"time"
)

var t0 = time.Unix(1761311216, 0)

func fail(b *Breaker, now time.Time, n int) {
	for i := 0; i < n; i++ {
		b.Failure(now)
	}
}

func TestDefaults(t *testing.T) {
	s := Settings{}.WithDefaults()
	if s.Failures != 3 || s.OpenFor != 30*time.Second {
		t.Fatalf("defaults %+v", s)
	}
}

func TestOpensAfterConsecutiveFailures(t *testing.T) {
	b := New(Settings{Failures: 3, OpenFor: 30 * time.Second})
	fail(b, t0, 2)
	if err := b.Allow(t0); err != nil {
		t.Fatalf("two failures must not open: %v", err)
	}
	b.Failure(t0)
	if err := b.Allow(t0); !errors.Is(err, ErrOpen) {
		t.Fatalf("three failures must open, got %v", err)
	}
	if b.State(t0) != Open {
		t.Fatalf("state %v", b.State(t0))
	}
}

func TestSuccessResetsTheCount(t *testing.T) {
	b := New(Settings{Failures: 3})
	fail(b, t0, 2)
	b.Success(t0)
	fail(b, t0, 2)
	if b.State(t0) != Closed {
		t.Fatal("failures must be consecutive to open")
	}
}

func TestHalfOpenLetsOneProbe(t *testing.T) {
	b := New(Settings{Failures: 1, OpenFor: 10 * time.Second})
	b.Failure(t0)
	if err := b.Allow(t0.Add(9 * time.Second)); !errors.Is(err, ErrOpen) {
		t.Fatal("still inside the open interval")
	}
	later := t0.Add(10 * time.Second)
	if b.State(later) != HalfOpen {
		t.Fatalf("want half-open, got %v", b.State(later))
	}
	if err := b.Allow(later); err != nil {
		t.Fatalf("first call after the interval is the probe: %v", err)
	}
	if err := b.Allow(later); !errors.Is(err, ErrOpen) {
		t.Fatal("a second caller must wait for the probe")
	}
	b.Success(later)
	if b.State(later) != Closed || b.Allow(later) != nil {
		t.Fatal("a good probe closes the breaker")
	}
}

func TestFailedProbeReopens(t *testing.T) {
	b := New(Settings{Failures: 3, OpenFor: 10 * time.Second})
	fail(b, t0, 3)
	probe := t0.Add(10 * time.Second)
	if err := b.Allow(probe); err != nil {
		t.Fatal(err)
	}
	b.Failure(probe)
	if err := b.Allow(probe.Add(9 * time.Second)); !errors.Is(err, ErrOpen) {
		t.Fatal("a failed probe must open a fresh interval")
	}
}

func TestLostProbeDoesNotWedge(t *testing.T) {
	b := New(Settings{Failures: 1, OpenFor: 10 * time.Second})
	b.Failure(t0)
	if err := b.Allow(t0.Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	// The probe's result never arrives.
	if err := b.Allow(t0.Add(20 * time.Second)); err != nil {
		t.Fatalf("a new probe is due after another interval: %v", err)
	}
}

func TestStateNames(t *testing.T) {
	if Closed.String() != "closed" || Open.String() != "open" || HalfOpen.String() != "half-open" {
		t.Fatal("state names")
	}
	if int(Closed) != 0 || int(Open) != 1 || int(HalfOpen) != 2 {
		t.Fatal("gauge values must match the seed's 0/1/2")
	}
}

func TestRetryInCountsDownTheOpenInterval(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := New(Settings{Failures: 1, OpenFor: 10 * time.Second})
	if d := b.RetryIn(t0); d != 0 {
		t.Fatalf("closed: RetryIn %v, want 0", d)
	}
	b.Failure(t0)
	if d := b.RetryIn(t0.Add(3 * time.Second)); d != 7*time.Second {
		t.Fatalf("open 3 s of 10: RetryIn %v, want 7s", d)
	}
	if b.Allow(t0.Add(10*time.Second)) != nil {
		t.Fatal("the interval passed: a probe may go")
	}
	if d := b.RetryIn(t0.Add(12 * time.Second)); d != 8*time.Second {
		t.Fatalf("probe in flight for 2 s: RetryIn %v, want 8s", d)
	}
	b.Success(t0.Add(12 * time.Second))
	if d := b.RetryIn(t0.Add(12 * time.Second)); d != 0 {
		t.Fatalf("closed again: RetryIn %v, want 0", d)
	}
}
