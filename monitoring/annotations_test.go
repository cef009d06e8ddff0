package monitoring_test

// The dashboard's deployment annotations, run as Grafana would run them:
// each query against a real Prometheus scraping a real registry, before
// and after the events it should mark. (The metric names they use are
// checked against every program's /metrics by
// TestExpressionsUseExportedMetrics, which reads annotations too.)

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/testkit/freeport"
	"github.com/vertice/vertice/internal/testkit/poll"
)

// dashboardAnnotation is one entry of the dashboard's annotations.list.
type dashboardAnnotation struct {
	Name       string `json:"name"`
	Enable     bool   `json:"enable"`
	Expr       string `json:"expr"`
	Datasource struct {
		UID string `json:"uid"`
	} `json:"datasource"`
}

// deployAnnotations returns the dashboard's annotation queries by name,
// failing unless the three deployment markers are there, on by default
// and on the dashboard's data source.
func deployAnnotations(t *testing.T) map[string]dashboardAnnotation {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Annotations struct {
			List []dashboardAnnotation `json:"list"`
		} `json:"annotations"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	byName := map[string]dashboardAnnotation{}
	for _, a := range dash.Annotations.List {
		byName[a.Name] = a
	}
	for _, name := range []string{"Registrations", "Deregistrations", "Registry restarts"} {
		a, ok := byName[name]
		switch {
		case !ok:
			t.Fatalf("%s: no %q annotation", dashboardFile, name)
		case !a.Enable:
			t.Errorf("%s: annotation %q is off by default", dashboardFile, name)
		case a.Datasource.UID != "${datasource}":
			t.Errorf("%s: annotation %q uses data source %q, want ${datasource}", dashboardFile, name, a.Datasource.UID)
		}
	}
	return byName
}

// TestDeployAnnotationsMarkRegistrations: a fresh registry replica is
// marked as started; two registrations are marked as registrations and
// not as deregistrations; two deregistrations are then marked too.
func TestDeployAnnotationsMarkRegistrations(t *testing.T) {
	promBin := tool(t, "prometheus")
	marks := deployAnnotations(t)

	regAddr := freeport.MustAddr(t)
	registry := "http://" + regAddr
	reg := start(t, "registry", built(t, "registry"), map[string]string{"REGISTRY_ADDR": regAddr})
	waitHTTP(t, reg, registry+"/health")

	dir := t.TempDir()
	cfg := map[string]any{
		"global": map[string]any{"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
		"scrape_configs": []any{map[string]any{"job_name": "vertice-registry",
			"static_configs": []any{map[string]any{"targets": []any{regAddr}}}}},
	}
	writeYAML(t, filepath.Join(dir, "prometheus.yml"), cfg)
	promAddr := freeport.MustAddr(t)
	promURL := "http://" + promAddr
	prom := start(t, "prometheus", promBin, nil,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr,
		"--log.level=warn")
	waitHTTP(t, prom, promURL+"/-/ready")

	// series returns how many series expr yields now.
	series := func(expr string) (int, string) {
		var q struct {
			Status string `json:"status"`
			Data   struct {
				Result []struct {
					Metric map[string]string `json:"metric"`
				} `json:"result"`
			} `json:"data"`
		}
		last := getJSON(t, promURL+"/api/v1/query?query="+url.QueryEscape(expr), &q)
		if q.Status != "success" {
			return -1, last
		}
		return len(q.Data.Result), last
	}
	awaitMarked := func(name string) {
		t.Helper()
		var last string
		prom.Eventually(t, 30*time.Second, "annotation "+name+" ("+marks[name].Expr+") marks", poll.Explain(func() bool {
			var n int
			n, last = series(marks[name].Expr)
			return n > 0
		}, func() string { return "last answer: " + last }))
	}
	// awaitScraped waits until Prometheus has the counter at want, so the
	// next event is an increase it can see.
	awaitScraped := func(operation, want string) {
		t.Helper()
		expr := `registry_operations_total{operation="` + operation + `",status="success"} == ` + want
		var last string
		prom.Eventually(t, 30*time.Second, expr, poll.Explain(func() bool {
			var n int
			n, last = series(expr)
			return n == 1
		}, func() string { return "last answer: " + last }))
	}

	awaitMarked("Registry restarts")

	register := func(id string) {
		post(t, registry+"/register", `{"service_name":"deployed","endpoint":"http://127.0.0.1:1/`+id+
			`","instance_id":"`+id+`"}`, http.StatusCreated, http.StatusOK)
	}
	register("old")
	awaitScraped("register", "1")
	register("new")
	awaitMarked("Registrations")
	if n, last := series(marks["Deregistrations"].Expr); n != 0 {
		t.Errorf("Deregistrations marks registrations: %s", last)
	}

	do(t, http.MethodDelete, registry+"/services/deployed/old", "", http.StatusOK, http.StatusNoContent)
	awaitScraped("deregister", "1")
	do(t, http.MethodDelete, registry+"/services/deployed/new", "", http.StatusOK, http.StatusNoContent)
	awaitMarked("Deregistrations")
}
