package promstats_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vertice/vertice/adapters/promstats"
	"github.com/vertice/vertice/domain/breaker"
)

// gauges reads every gauge reg exposes, by name.
func gauges(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			out[f.GetName()] = m.GetGauge().GetValue()
		}
	}
	return out
}

func TestBreakerGauges(t *testing.T) {
	reg := prometheus.NewRegistry()
	state := breaker.Closed
	if err := promstats.RegisterBreaker(reg, func() breaker.State { return state }); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		state        breaker.State
		open, detail float64
	}{
		{breaker.Closed, 0, 0},
		{breaker.Open, 1, 1},
		{breaker.HalfOpen, 1, 2},
	} {
		state = c.state
		got := gauges(t, reg)
		if got["registry_circuit_breaker_open"] != c.open || got["redis_circuit_breaker_state"] != c.detail {
			t.Errorf("state %v: got %v, want open=%v state=%v", c.state, got, c.open, c.detail)
		}
	}
}

func TestRegisterBreakerTwiceFails(t *testing.T) {
	reg := prometheus.NewRegistry()
	state := func() breaker.State { return breaker.Closed }
	if err := promstats.RegisterBreaker(reg, state); err != nil {
		t.Fatal(err)
	}
	if err := promstats.RegisterBreaker(reg, state); err == nil {
		t.Fatal("registering the gauges twice should be reported, not pass silently")
	}
}
