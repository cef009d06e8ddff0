package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vertice/vertice/domain/agent"
	"github.com/vertice/vertice/domain/catalog"
)

// The hand-written exposition is what Prometheus's own parser reads, with
// the names, types and help the alerts and dashboards were written for.
func TestMetricsParseAsPrometheusText(t *testing.T) {
	renewed := time.Unix(1761311879, 500_000_000)
	text := metricsText(agent.State{Registered: true, Observed: catalog.StatusHealthy, Registrations: 2,
		Heartbeats: 1234567, HeartbeatFailures: 3, LastRenewal: renewed})
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("not Prometheus text: %v\n%s", err, text)
	}
	want := []struct {
		name, help string
		kind       dto.MetricType
		value      float64
	}{
		{"vertice_sidecar_registered", "1 while the registry holds this instance.", dto.MetricType_GAUGE, 1},
		{"vertice_sidecar_service_healthy", "1 when the last health probe answered 200.", dto.MetricType_GAUGE, 1},
		{"vertice_sidecar_registrations_total", "Successful registrations.", dto.MetricType_COUNTER, 2},
		{"vertice_sidecar_heartbeats_total", "Successful heartbeats.", dto.MetricType_COUNTER, 1234567},
		{"vertice_sidecar_heartbeat_failures_total", "Failed heartbeats.", dto.MetricType_COUNTER, 3},
		{"vertice_sidecar_last_renewal_timestamp_seconds",
			"Unix time of the last successful registration or heartbeat; 0 before the first.", dto.MetricType_GAUGE, 1761311879.5},
	}
	if len(families) != len(want) {
		t.Fatalf("%d families, want %d:\n%s", len(families), len(want), text)
	}
	for _, w := range want {
		f := families[w.name]
		if f == nil || f.GetHelp() != w.help || f.GetType() != w.kind || len(f.Metric) != 1 {
			t.Fatalf("%s: got %v", w.name, f)
		}
		m := f.Metric[0]
		got := m.GetGauge().GetValue()
		if w.kind == dto.MetricType_COUNTER {
			got = m.GetCounter().GetValue()
		}
		if got != w.value {
			t.Errorf("%s = %v, want %v", w.name, got, w.value)
		}
	}
	if !strings.Contains(string(metricsText(agent.State{})), "vertice_sidecar_last_renewal_timestamp_seconds 0\n") {
		t.Fatal("before the first renewal the timestamp is 0")
	}
}
