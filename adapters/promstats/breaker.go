package promstats

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vertice/vertice/domain/breaker"
)

// RegisterBreaker registers the seed's two breaker gauges on reg, read from
// state at scrape time (pass resilient.Store.State):
//
//	registry_circuit_breaker_open  1 unless closed (half-open still turns
//	                               most calls away), else 0
//	redis_circuit_breaker_state    0 closed, 1 open, 2 half-open
func RegisterBreaker(reg prometheus.Registerer, state func() breaker.State) error {
	open := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "registry_circuit_breaker_open",
		Help: "1 while the store's circuit breaker is not closed (open or half-open), else 0.",
	}, func() float64 {
		if state() == breaker.Closed {
			return 0
		}
		return 1
	})
	detail := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "redis_circuit_breaker_state",
		Help: "State of the store's circuit breaker: 0 closed, 1 open, 2 half-open.",
	}, func() float64 { return float64(state()) })
	for _, c := range []prometheus.Collector{open, detail} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
