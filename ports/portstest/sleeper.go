package portstest

import (
	"context"
	"sync"
	"time"
)

// FakeSleeper is a Sleeper that returns at once after moving its clock
// forward, so a loop's whole schedule runs without real time passing.
// OnSleep, when set, runs after each sleep with the duration slept; tests
// use it to change the world at a given fake time or to cancel the loop.
type FakeSleeper struct {
	Clock   *FakeClock
	OnSleep func(d time.Duration)

	mu    sync.Mutex
	slept []time.Duration
}

// NewFakeSleeper moves clock when it sleeps.
func NewFakeSleeper(clock *FakeClock) *FakeSleeper { return &FakeSleeper{Clock: clock} }

// Sleep advances the clock by d and returns ctx.Err(), like a real sleep
// that was not interrupted.
func (s *FakeSleeper) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.slept = append(s.slept, d)
	s.mu.Unlock()
	s.Clock.Advance(d)
	if s.OnSleep != nil {
		s.OnSleep(d)
	}
	return ctx.Err()
}

// Slept returns every duration slept so far, in order.
func (s *FakeSleeper) Slept() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.slept...)
}
