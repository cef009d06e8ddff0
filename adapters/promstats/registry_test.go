package promstats_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vertice/vertice/adapters/promstats"
)

func TestServedCountsOutcomesAndTimesAllButWatches(t *testing.T) {
	reg := prometheus.NewRegistry()
	stats, err := promstats.NewRegistry(reg, func(context.Context) (int, error) { return 2, nil })
	if err != nil {
		t.Fatal(err)
	}
	stats.Served("lookup", 200, time.Millisecond)
	stats.Served("lookup", 404, time.Millisecond)
	stats.Served("register", 400, time.Millisecond)
	stats.Served("register", 503, time.Millisecond)
	stats.Served("watch", 200, time.Minute)
	want := `
# HELP registry_operations_total Registry operations served, by operation and outcome (success, not_found, client_error, unavailable, error).
# TYPE registry_operations_total counter
registry_operations_total{operation="lookup",status="not_found"} 1
registry_operations_total{operation="lookup",status="success"} 1
registry_operations_total{operation="register",status="client_error"} 1
registry_operations_total{operation="register",status="unavailable"} 1
registry_operations_total{operation="watch",status="success"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "registry_operations_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "registry_operation_duration_seconds"); n != 2 {
		t.Fatalf("duration series: %d, want lookup and register only (a watch is not timed)", n)
	}
}
