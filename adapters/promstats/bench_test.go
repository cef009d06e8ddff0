package promstats_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vertice/vertice/adapters/promstats"
)

// BenchmarkServed measures what every registry operation pays for its two
// metrics.
func BenchmarkServed(b *testing.B) {
	stats, err := promstats.NewRegistry(prometheus.NewRegistry(), func(context.Context) (int, error) { return 0, nil })
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		stats.Served("lookup", 200, time.Millisecond)
	}
}
