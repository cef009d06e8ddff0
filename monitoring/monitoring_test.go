package monitoring_test

// The monitoring checks: promtool on the Prometheus config, rules and rule
// unit tests; every PromQL expression (alerts and dashboard) against the
// metrics our programs really export; and a real Prometheus discovering
// registered instances through the registry's HTTP service discovery.
//
// promtool and prometheus come from Debian (apt-get install prometheus).
// Without them the tests skip, unless CI is set: then they fail.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"

	"github.com/vertice/vertice/internal/testkit/build"
	"github.com/vertice/vertice/internal/testkit/freeport"
	"github.com/vertice/vertice/internal/testkit/poll"
	"github.com/vertice/vertice/internal/testkit/proc"
)

const (
	repoRoot      = ".."
	promDir       = "prometheus"
	rulesFile     = "prometheus/rules/service_registry_alerts.yml"
	rulesTestFile = "prometheus/rules/service_registry_alerts_test.yml"
	configFile    = "prometheus/prometheus.yml"
	dashboardFile = "grafana/dashboards/06-service-registry.json"

	// sdJob is the scrape job in prometheus.yml that discovers instances
	// through the registry.
	sdJob = "vertice-services"
)

// binDir holds the programs built for these tests (see built).
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vertice-monitoring-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// tool finds a binary of Debian's prometheus package: skipped without it,
// unless CI is set.
func tool(t *testing.T, name string) string { return debianTool(t, name, "prometheus") }

// debianTool finds a binary of a Debian package: skipped without it,
// unless CI is set.
func debianTool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed and CI is set (apt-get install -y %s): %v", name, pkg, err)
	}
	t.Skipf("%s is not installed (apt-get install -y %s); skipping", name, pkg)
	return ""
}

// runTool runs a command in dir and fails with its output when it fails.
func runTool(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool(t, name), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s (in %s): %v\n%s", name, strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

func TestPromtoolCheckConfig(t *testing.T) {
	// Relative rule_files resolve against the config's folder; the check
	// also checks the rule files the glob finds.
	out := runTool(t, promDir, "promtool", "check", "config", "prometheus.yml")
	if !strings.Contains(out, "service_registry_alerts.yml") {
		t.Fatalf("prometheus.yml's rule_files did not find service_registry_alerts.yml:\n%s", out)
	}
	if strings.Contains(out, "_test.yml") {
		t.Fatalf("prometheus.yml's rule_files include the unit-test file:\n%s", out)
	}
}

func TestPromtoolCheckRules(t *testing.T) {
	runTool(t, ".", "promtool", "check", "rules", rulesFile)
}

func TestPromtoolTestRules(t *testing.T) {
	runTool(t, filepath.Dir(rulesTestFile), "promtool", "test", "rules", filepath.Base(rulesTestFile))
}

// TestEveryAlertHasFiringAndQuietCases keeps the unit tests honest: each
// alert in the rules file must be expected to fire somewhere and expected
// silent somewhere else.
func TestEveryAlertHasFiringAndQuietCases(t *testing.T) {
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string           `yaml:"alertname"`
				ExpAlerts []map[string]any `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	readYAML(t, rulesTestFile, &tests)
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	alerts := 0
	for _, r := range ruleExprs(t) {
		if r.alert == "" {
			continue
		}
		alerts++
		if !fires[r.alert] {
			t.Errorf("%s: no unit test expects it to fire", r.alert)
		}
		if !quiet[r.alert] {
			t.Errorf("%s: no unit test expects it to stay silent (exp_alerts: [])", r.alert)
		}
	}
	if alerts != 10 {
		t.Errorf("%s has %d alerts, want v1's ten", rulesFile, alerts)
	}
}

// expression is one PromQL expression and where it was found.
type expression struct {
	where, alert, expr string
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func ruleExprs(t *testing.T) []expression {
	t.Helper()
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert  string `yaml:"alert"`
				Record string `yaml:"record"`
				Expr   string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, rulesFile, &rules)
	var out []expression
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			out = append(out, expression{where: rulesFile + ": " + r.Alert + r.Record, alert: r.Alert, expr: r.Expr})
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no rules", rulesFile)
	}
	return out
}

// dashboardExprs collects targets[].expr from every panel, rows included,
// and the expr of every annotation query.
func dashboardExprs(t *testing.T) []expression {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var dash struct {
		Panels      []json.RawMessage `json:"panels"`
		Annotations struct {
			List []struct {
				Name string `json:"name"`
				Expr string `json:"expr"`
			} `json:"list"`
		} `json:"annotations"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var out []expression
	for _, a := range dash.Annotations.List {
		if a.Expr != "" {
			out = append(out, expression{where: fmt.Sprintf("%s: annotation %q", dashboardFile, a.Name), expr: a.Expr})
		}
	}
	var walk func(raw []json.RawMessage)
	walk = func(raw []json.RawMessage) {
		for _, r := range raw {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatalf("%s: %v", dashboardFile, err)
			}
			for _, tg := range p.Targets {
				if tg.Expr != "" {
					out = append(out, expression{where: fmt.Sprintf("%s: panel %q target %s", dashboardFile, p.Title, tg.RefID), expr: tg.Expr})
				}
			}
			walk(p.Panels)
		}
	}
	walk(dash.Panels)
	if len(out) == 0 {
		t.Fatalf("%s: no panel targets", dashboardFile)
	}
	return out
}

func TestDashboardHasTheV1Panels(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title      string `json:"title"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	want := []string{"Active Services", "Circuit Breaker", "Operations Rate", "Operation Latency",
		"Operations Distribution", "Memory Usage", "CPU Usage", "Redis Circuit Breaker", "Total Operations"}
	for _, w := range want {
		found := false
		for _, p := range dash.Panels {
			if strings.HasSuffix(p.Title, " "+w) || p.Title == w {
				found = true
				if p.Datasource.UID != "${datasource}" {
					t.Errorf("panel %q: datasource uid %q, want ${datasource}", p.Title, p.Datasource.UID)
				}
			}
		}
		if !found {
			t.Errorf("no %q panel", w)
		}
	}
}

// ---- PromQL metric names ----------------------------------------------------

// grafanaIntervals are the variables Grafana replaces with a duration before
// it sends a query; the parser gets 5m in their place, as Prometheus would.
var grafanaIntervals = regexp.MustCompile(`\$\{?__(rate_interval|interval|range)(_ms|_s)?\}?`)

// metricNames lists the metric names a PromQL expression selects, in order,
// each once, as Prometheus's own parser reads the expression: the name of
// every selector, or its __name__="x" matcher. A selector by a regular
// expression on __name__ names nothing.
func metricNames(expr string) ([]string, error) {
	ast, err := parser.NewParser(parser.Options{}).ParseExpr(grafanaIntervals.ReplaceAllString(expr, "5m"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, matchers := range parser.ExtractSelectors(ast) {
		for _, m := range matchers {
			if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual && !slices.Contains(out, m.Value) {
				out = append(out, m.Value)
			}
		}
	}
	return out, nil
}

func TestMetricNames(t *testing.T) {
	for _, c := range []struct {
		expr string
		want []string
	}{
		{`max by (instance) (registry_circuit_breaker_open) == 1`, []string{"registry_circuit_breaker_open"}},
		{`histogram_quantile(0.99, sum by (le, operation) (rate(registry_operation_duration_seconds_bucket{job="a",le!="+Inf"}[5m]))) > 0.1`,
			[]string{"registry_operation_duration_seconds_bucket"}},
		{"(sum(rate(a_total{x=\"y\"}[5m])) or vector(0))\n  < max(b) / 60 and max(b) > 0", []string{"a_total", "b"}},
		{`a offset 5m + on(instance) group_left(version, build) b offset -1h`, []string{"a", "b"}},
		{`{__name__="foo", job="x"}`, []string{"foo"}},
		{`{__name__=~"foo.*", job="x"}`, nil},
		{`label_replace(up, "dst", "$1", "src", "(.*)")`, []string{"up"}},
		{`sum(rate(x{job="$job"}[$__rate_interval])) / sum(increase(y[${__range}]))`, []string{"x", "y"}},
		{`sum without (instance) (y) > bool 1e3 unless z`, []string{"y", "z"}},
		{`max_over_time(deriv(x[5m])[30m:1m])`, []string{"x"}},
		{`sum(rate(registry_operations_total[$__range])) # total`, []string{"registry_operations_total"}},
	} {
		got, err := metricNames(c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.expr, got, c.want)
		}
	}
	for _, bad := range []string{`x{job="a"`, `rate(x[5m)`, `x{job="a}`, `rate(x[$other])`} {
		if _, err := metricNames(bad); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}

// prometheusMade are names Prometheus itself gives every target or rule.
func prometheusMade(name string) bool {
	return name == "up" || strings.HasPrefix(name, "scrape_") || name == "ALERTS" || name == "ALERTS_FOR_STATE"
}

// TestExpressionsUseExportedMetrics builds and runs our programs, drives a
// little traffic through them and checks that every metric the alerts and
// the dashboard name is in one of their /metrics answers.
func TestExpressionsUseExportedMetrics(t *testing.T) {
	var exprs []expression
	exprs = append(exprs, ruleExprs(t)...)
	exprs = append(exprs, dashboardExprs(t)...)
	exprs = append(exprs, runbookExprs(t)...) // runbook_test.go
	exported := exportedMetrics(t)

	for _, e := range exprs {
		names, err := metricNames(e.expr)
		if err != nil {
			t.Errorf("%s: cannot read %q: %v", e.where, e.expr, err)
			continue
		}
		if len(names) == 0 {
			t.Errorf("%s: %q names no metric", e.where, e.expr)
		}
		for _, n := range names {
			if !prometheusMade(n) && exported[n] == "" {
				t.Errorf("%s: metric %s is exported by no program (expression %q)", e.where, n, e.expr)
			}
		}
	}
}

// exportedMetrics maps each metric name our programs export (exposition
// sample names and # TYPE family names) to the program that exports it.
func exportedMetrics(t *testing.T) map[string]string {
	t.Helper()
	programs := programs(t)
	for _, required := range []string{"registry", "gateway", "sidecar"} {
		if !slices.Contains(programs, required) {
			t.Errorf("apps/%s/main.go is missing: the %s must be built and scraped", required, required)
		}
	}
	for _, p := range programs {
		built(t, p) // build everything first: a broken program fails here
	}
	backend := backendServer(t)
	backendURL, _ := url.Parse(backend.URL)
	scrapes := map[string]string{} // program -> /metrics URL

	var registryURL string
	if slices.Contains(programs, "registry") {
		addr := freeport.MustAddr(t)
		registryURL = "http://" + addr
		p := start(t, "registry", built(t, "registry"), map[string]string{
			"REGISTRY_ADDR": addr, "REGISTRY_TTL": "30s",
		})
		waitHTTP(t, p, registryURL+"/metrics")
		driveRegistry(t, registryURL, backend.URL)
		scrapes["registry"] = registryURL + "/metrics"
	}
	if registryURL == "" {
		t.Fatal("without the registry the other programs cannot run")
	}
	if slices.Contains(programs, "gateway") {
		addr := freeport.MustAddr(t)
		p := start(t, "gateway", built(t, "gateway"), map[string]string{
			"GATEWAY_ADDR": addr, "REGISTRY_URL": registryURL, "CACHE_TTL": "1s",
		})
		waitHTTP(t, p, "http://"+addr+"/metrics")
		get(t, "http://"+addr+"/v2/demo/health", 0)            // routed through the registry
		get(t, "http://"+addr+"/v2/no_such_service/health", 0) // a failed resolution
		scrapes["gateway"] = "http://" + addr + "/metrics"
	}
	if slices.Contains(programs, "sidecar") {
		addr := freeport.MustAddr(t)
		p := start(t, "sidecar", built(t, "sidecar"), map[string]string{
			"SIDECAR_ADDR":            addr,
			"SERVICE_NAME":            "sidecar_demo",
			"SERVICE_HOST":            backendURL.Hostname(),
			"SERVICE_PORT":            backendURL.Port(),
			"SERVICE_HEALTH_ENDPOINT": "/health",
			"REGISTRY_URL":            registryURL,
			"HEARTBEAT_INTERVAL":      "1",
			"INITIAL_WAIT_TIMEOUT":    "10",
		})
		waitHTTP(t, p, "http://"+addr+"/metrics")
		// Let it register and beat, so its counters have children.
		waitHTTP(t, p, registryURL+"/services/sidecar_demo")
		scrapes["sidecar"] = "http://" + addr + "/metrics"
	}
	if slices.Contains(programs, "demo") {
		addr := freeport.MustAddr(t)
		p := start(t, "demo", built(t, "demo"), map[string]string{"DEMO_ADDR": addr})
		waitAnswer(t, p, "http://"+addr+"/")
		if code := get(t, "http://"+addr+"/metrics", 0); code == http.StatusOK {
			scrapes["demo"] = "http://" + addr + "/metrics"
		} else {
			t.Logf("demo: GET /metrics answers %d; not scraped", code)
		}
	}
	for _, p := range programs {
		switch p {
		case "registry", "gateway", "sidecar", "demo":
		default:
			t.Logf("apps/%s: built, but this test does not know how to configure it; not scraped", p)
		}
	}

	exported := map[string]string{}
	var names []string
	for program, u := range scrapes {
		for _, n := range scrape(t, u) {
			if exported[n] == "" {
				exported[n] = program
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	t.Logf("scraped %d metric names from %d programs", len(names), len(scrapes))
	return exported
}

// driveRegistry calls every operation once or more, so each labelled
// series has children and appears in /metrics.
func driveRegistry(t *testing.T, registry, backend string) {
	t.Helper()
	post(t, registry+"/register", `{"service_name":"demo","endpoint":"`+backend+`","health_endpoint":"/health"}`, http.StatusCreated, http.StatusOK)
	post(t, registry+"/heartbeat", `{"service_name":"demo"}`, http.StatusOK)
	post(t, registry+"/heartbeat", `{"service_name":"forgotten_service"}`, http.StatusNotFound)
	get(t, registry+"/services/demo", http.StatusOK)
	get(t, registry+"/services/no_such_service", http.StatusNotFound)
	get(t, registry+"/services", http.StatusOK)
	post(t, registry+"/register", `{"service_name":"gone_service","endpoint":"http://127.0.0.1:1"}`, http.StatusCreated, http.StatusOK)
	do(t, http.MethodDelete, registry+"/services/gone_service", "", http.StatusOK, http.StatusNoContent)
}

// scrape returns the metric names in a /metrics answer: each sample's name
// and each # TYPE line's family name.
func scrape(t *testing.T, u string) []string {
	t.Helper()
	resp, err := httpClient.Get(u)
	if err != nil {
		t.Fatalf("scrape %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %s", u, resp.Status)
	}
	var names []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "# TYPE "):
			if f := strings.Fields(line); len(f) >= 3 {
				names = append(names, f[2])
			}
		case strings.HasPrefix(line, "#"):
		default:
			end := strings.IndexAny(line, "{ ")
			if end < 0 {
				end = len(line)
			}
			names = append(names, line[:end])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("scrape %s: %v", u, err)
	}
	if len(names) == 0 {
		t.Fatalf("scrape %s: no metrics", u)
	}
	return names
}

// ---- real Prometheus --------------------------------------------------------

// TestPrometheusDiscoversRegisteredInstances runs the registry and two demo
// instances, and a real Prometheus whose only job is prometheus.yml's
// registry-discovery job aimed at this registry: both instances must be
// found, keep their metadata as labels, and be scraped (up == 1).
func TestPrometheusDiscoversRegisteredInstances(t *testing.T) {
	promBin := tool(t, "prometheus")

	addr := freeport.MustAddr(t)
	registryURL := "http://" + addr
	reg := start(t, "registry", built(t, "registry"), map[string]string{"REGISTRY_ADDR": addr, "REGISTRY_TTL": "60s"})
	waitHTTP(t, reg, registryURL+"/health")

	var instances []string
	for i := range 2 {
		r := prometheus.NewRegistry()
		served := prometheus.NewCounter(prometheus.CounterOpts{Name: "demo_requests_total", Help: "Requests served."})
		served.Add(float64(i + 1))
		r.MustRegister(served)
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(r, promhttp.HandlerOpts{}))
		mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"status":"healthy"}`) })
		srv := httptest.NewServer(mux) // 127.0.0.1
		t.Cleanup(srv.Close)
		instances = append(instances, strings.TrimPrefix(srv.URL, "http://"))
		post(t, registryURL+"/register", `{"service_name":"demo","endpoint":"`+srv.URL+
			`","health_endpoint":"/health","metadata":{"version":"1.2.3"}}`, http.StatusCreated, http.StatusOK)
	}

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, discoveryConfig(t, registryURL+"/v1/sd/prometheus"), 0o644); err != nil {
		t.Fatal(err)
	}
	promAddr := freeport.MustAddr(t)
	promURL := "http://" + promAddr
	prom := start(t, "prometheus", promBin, nil,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr,
		"--log.level=warn")
	waitHTTP(t, prom, promURL+"/-/ready")

	// Both instances discovered, labelled and healthy.
	prom.Eventually(t, 60*time.Second, "both demo instances up in /api/v1/targets", func() error {
		var targets struct {
			Data struct {
				ActiveTargets []struct {
					Labels    map[string]string `json:"labels"`
					Health    string            `json:"health"`
					ScrapeURL string            `json:"scrapeUrl"`
					LastError string            `json:"lastError"`
				} `json:"activeTargets"`
			} `json:"data"`
		}
		last := getJSON(t, promURL+"/api/v1/targets?state=active", &targets)
		up := map[string]bool{}
		for _, tg := range targets.Data.ActiveTargets {
			if tg.Labels["service"] == "demo" && tg.Labels["job"] == sdJob && tg.Labels["version"] == "1.2.3" &&
				tg.Labels["instance_id"] != "" && tg.Health == "up" {
				up[tg.Labels["instance"]] = true
			}
		}
		if up[instances[0]] && up[instances[1]] {
			return nil
		}
		return errors.New("last answer: " + last)
	})

	// And the query the brief names: up{service="demo"} is 1 for both.
	prom.Eventually(t, 60*time.Second, `up{service="demo"} == 1 for both instances`, func() error {
		var q struct {
			Status string `json:"status"`
			Data   struct {
				Result []struct {
					Metric map[string]string `json:"metric"`
					Value  []any             `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		last := getJSON(t, promURL+"/api/v1/query?query="+url.QueryEscape(`up{service="demo"}`), &q)
		ones := map[string]bool{}
		for _, r := range q.Data.Result {
			if len(r.Value) == 2 && r.Value[1] == "1" {
				ones[r.Metric["instance"]] = true
			}
		}
		if q.Status == "success" && ones[instances[0]] && ones[instances[1]] {
			return nil
		}
		return errors.New("last answer: " + last)
	})
}

// discoveryConfig is prometheus.yml cut down to its registry-discovery job,
// aimed at sdURL and sped up: the relabelling under test is the real one.
func discoveryConfig(t *testing.T, sdURL string) []byte {
	t.Helper()
	var cfg struct {
		ScrapeConfigs []map[string]any `yaml:"scrape_configs"`
	}
	readYAML(t, configFile, &cfg)
	var job map[string]any
	for _, sc := range cfg.ScrapeConfigs {
		if sc["job_name"] == sdJob {
			job = sc
		}
	}
	if job == nil {
		t.Fatalf("%s has no %s job", configFile, sdJob)
	}
	sds, _ := job["http_sd_configs"].([]any)
	if len(sds) != 1 {
		t.Fatalf("%s: job %s should have one http_sd_configs entry, has %d", configFile, sdJob, len(sds))
	}
	sd := sds[0].(map[string]any)
	if u, _ := sd["url"].(string); !strings.HasSuffix(u, "/v1/sd/prometheus") {
		t.Fatalf("%s: job %s discovers from %q, want the registry's /v1/sd/prometheus", configFile, sdJob, u)
	}
	sd["url"] = sdURL
	sd["refresh_interval"] = "1s"
	job["scrape_interval"] = "1s"
	job["scrape_timeout"] = "1s"
	out, err := yaml.Marshal(map[string]any{
		"global":         map[string]any{"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
		"scrape_configs": []any{job},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ---- programs and processes ---------------------------------------------------

// programs lists apps/<name> folders with a main.go.
func programs(t *testing.T) []string {
	t.Helper()
	apps, err := build.Apps(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	return apps
}

var buildMu sync.Mutex

// built compiles apps/<name> once per test binary and returns its path.
func built(t *testing.T, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	bin := filepath.Join(binDir, name)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./apps/"+name)
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./apps/%s: %v\n%s", name, err, out)
	}
	return bin
}

// start runs bin with only PATH, HOME and env in its environment; it is
// stopped when the test ends.
func start(t *testing.T, name, bin string, env map[string]string, args ...string) *proc.Process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return proc.StartT(t, name, cmd)
}

// programStart bounds a program's start, a build on a busy machine aside.
const programStart = 30 * time.Second

// waitHTTP waits until u answers 200.
func waitHTTP(t *testing.T, p *proc.Process, u string) {
	t.Helper()
	p.Eventually(t, programStart, "GET "+u+" answers 200", poll.Status(u, http.StatusOK))
}

// waitAnswer waits until u answers at all.
func waitAnswer(t *testing.T, p *proc.Process, u string) {
	t.Helper()
	p.Eventually(t, programStart, "GET "+u+" answers", poll.Status(u, 0))
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

// do sends a request and fails unless the status is one of want (any
// status when want is empty or 0).
func do(t *testing.T, method, u, body string, want ...int) int {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if len(want) > 0 && want[0] != 0 && !slices.Contains(want, resp.StatusCode) {
		t.Fatalf("%s %s: %s, want %v: %s", method, u, resp.Status, want, b)
	}
	return resp.StatusCode
}

func get(t *testing.T, u string, want ...int) int {
	t.Helper()
	return do(t, http.MethodGet, u, "", want...)
}

func post(t *testing.T, u, body string, want ...int) int {
	t.Helper()
	return do(t, http.MethodPost, u, body, want...)
}

// getJSON decodes u's answer into v and returns the raw answer, shortened.
func getJSON(t *testing.T, u string, v any) string {
	t.Helper()
	resp, err := httpClient.Get(u)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err.Error()
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Sprintf("%s: %v: %s", resp.Status, err, tail(string(b), 2000))
	}
	return tail(string(b), 2000)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// backendServer is a live HTTP service on loopback for routes and sidecars.
func backendServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"healthy"}`)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}
