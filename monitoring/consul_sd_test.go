package monitoring_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.yaml.in/yaml/v3"

	"github.com/vertice/vertice/internal/testkit/freeport"
)

// The consul_sd_configs job prometheus.yml offers as an alternative lives
// in a comment between these markers, so the shipped file runs one job.
const (
	consulBegin = "# --- consul_sd alternative: begin ---"
	consulEnd   = "# --- consul_sd alternative: end ---"
)

// consulJob is the commented-out job of prometheus.yml, uncommented and
// parsed: one scrape config named sdJob discovering through consul_sd.
func consulJob(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(configFile)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(raw), consulBegin)
	block, _, ok2 := strings.Cut(rest, consulEnd)
	if !ok || !ok2 {
		t.Fatalf("%s has no %q ... %q block", configFile, consulBegin, consulEnd)
	}
	var yamlLines []string
	for _, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(line)
		// The job's lines are "# " plus YAML indented by two or more;
		// the prose before it is "# " plus text.
		if body, ok := strings.CutPrefix(line, "# "); ok && (strings.HasPrefix(body, "- job_name") || strings.HasPrefix(body, "  ")) {
			yamlLines = append(yamlLines, body)
		}
	}
	var jobs []map[string]any
	if err := yaml.Unmarshal([]byte(strings.Join(yamlLines, "\n")), &jobs); err != nil {
		t.Fatalf("the commented consul_sd job does not parse: %v\n%s", err, strings.Join(yamlLines, "\n"))
	}
	if len(jobs) != 1 || jobs[0]["job_name"] != sdJob {
		t.Fatalf("the commented block should hold one job named %s, got %v", sdJob, jobs)
	}
	sds, _ := jobs[0]["consul_sd_configs"].([]any)
	if len(sds) != 1 {
		t.Fatalf("the consul job should have one consul_sd_configs entry: %v", jobs[0])
	}
	return jobs[0]
}

// consulConfig is a Prometheus configuration with the consul job alone,
// aimed at server and sped up.
func consulConfig(t *testing.T, server string) []byte {
	t.Helper()
	job := consulJob(t)
	sd := job["consul_sd_configs"].([]any)[0].(map[string]any)
	sd["server"] = server
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

// The alternative job is a valid configuration for promtool, as shipped
// (aimed at vertice-register-lb); Debian's promtool knows no
// consul_sd_configs, so the one built with Consul discovery checks it.
func TestPromtoolChecksTheConsulJob(t *testing.T) {
	job := consulJob(t)
	if server := job["consul_sd_configs"].([]any)[0].(map[string]any)["server"]; server != "vertice-register-lb:80" {
		t.Fatalf("the consul job discovers from %v, want the registry's load balancer vertice-register-lb:80", server)
	}
	out, err := yaml.Marshal(map[string]any{"scrape_configs": []any{job}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	_, promtool := consulPrometheus(t)
	cmd := exec.Command(promtool, "check", "config", "prometheus.yml")
	cmd.Dir = dir
	if got, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(got), "SUCCESS") {
		t.Fatalf("promtool check config: %v\n%s", err, got)
	}
}

type target struct {
	Labels           map[string]string `json:"labels"`
	DiscoveredLabels map[string]string `json:"discoveredLabels"`
	Health           string            `json:"health"`
	LastError        string            `json:"lastError"`
}

func activeTargets(t *testing.T, promURL string) ([]target, string) {
	var targets struct {
		Data struct {
			ActiveTargets []target `json:"activeTargets"`
		} `json:"data"`
	}
	last := getJSON(t, promURL+"/api/v1/targets?state=active", &targets)
	return targets.Data.ActiveTargets, last
}

// consulPrometheus is a real Prometheus built with Consul discovery, and
// its promtool. Debian's prometheus package (2.42 in bookworm) is built
// without it ("Disable Consul SD until its Debian package is back in
// shape"), so these are built from Prometheus's own Go module, the
// version go.mod already requires, with only Consul discovery compiled in
// (the remove_all_sd,enable_consul_sd build tags Prometheus provides).
// The build is kept in the user's cache directory: minutes the first
// time on a two-core machine, nothing after. PROMETHEUS_CONSUL_DIR may
// name a folder holding both programs instead.
func consulPrometheus(t *testing.T) (prometheusBin, promtoolBin string) {
	t.Helper()
	consulPromOnce.Do(func() { consulPromDir, consulPromErr = buildConsulPrometheus() })
	if consulPromErr != nil {
		t.Fatalf("Prometheus with Consul discovery: %v", consulPromErr)
	}
	return filepath.Join(consulPromDir, "prometheus"), filepath.Join(consulPromDir, "promtool")
}

var (
	consulPromOnce sync.Once
	consulPromDir  string
	consulPromErr  error
)

func buildConsulPrometheus() (string, error) {
	if dir := os.Getenv("PROMETHEUS_CONSUL_DIR"); dir != "" {
		return dir, nil
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/prometheus/prometheus").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m github.com/prometheus/prometheus: %w", err)
	}
	version := strings.TrimSpace(string(out))
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "vertice-test", "prometheus-consul-"+version)
	if _, err := os.Stat(filepath.Join(dir, "promtool")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	// Built aside and renamed into place, so a build cut short leaves
	// nothing that looks finished.
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	mod := "github.com/prometheus/prometheus/cmd/"
	cmd := exec.CommandContext(ctx, "go", "install", "-tags", "remove_all_sd,enable_consul_sd",
		mod+"prometheus@"+version, mod+"promtool@"+version)
	cmd.Dir = tmp // outside this module: the install uses Prometheus's own go.mod
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install prometheus %s: %v\n%s", version, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, os.ErrExist) {
		if _, statErr := os.Stat(filepath.Join(dir, "promtool")); statErr != nil {
			return "", err
		}
	}
	return dir, nil
}

// TestPrometheusDiscoversThroughConsulSD is issue 17's acceptance: a real
// Prometheus runs prometheus.yml's consul_sd job against a real registry.
// One demo instance registers through the native API (with tags), the
// other through the Consul API (a TTL check); both are discovered with
// their __meta_consul_* labels and scraped (up == 1), and the one
// deregistered leaves Prometheus's targets.
func TestPrometheusDiscoversThroughConsulSD(t *testing.T) {
	promBin, _ := consulPrometheus(t)
	addr := freeport.MustAddr(t)
	registryURL := "http://" + addr
	reg := start(t, "registry", built(t, "registry"), map[string]string{"REGISTRY_ADDR": addr, "REGISTRY_TTL": "60s"})
	waitHTTP(t, reg, registryURL+"/health")

	var hosts []string
	for i := range 2 {
		r := prometheus.NewRegistry()
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: "demo_requests_total", Help: "Requests served."})
		c.Add(float64(i + 1))
		r.MustRegister(c)
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(r, promhttp.HandlerOpts{}))
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		hosts = append(hosts, strings.TrimPrefix(srv.URL, "http://"))
	}
	post(t, registryURL+"/register", `{"service_name":"demo","instance_id":"demo-a","endpoint":"http://`+hosts[0]+
		`","metadata":{"version":"1.2.3","zone":"a"},"tags":["scrape","v1"]}`, http.StatusCreated)
	host, port, _ := strings.Cut(hosts[1], ":")
	do(t, http.MethodPut, registryURL+"/v1/agent/service/register", `{"Name":"demo","ID":"demo-b","Address":"`+host+
		`","Port":`+port+`,"Tags":["scrape"],"Meta":{"version":"1.2.3"},"Check":{"TTL":"10m","Status":"passing"}}`, http.StatusOK)

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, consulConfig(t, addr), 0o644); err != nil {
		t.Fatal(err)
	}
	promAddr := freeport.MustAddr(t)
	promURL := "http://" + promAddr
	prom := start(t, "prometheus", promBin, nil, "--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+promAddr, "--log.level=warn")
	waitHTTP(t, prom, promURL+"/-/ready")

	want := map[string]map[string]string{
		hosts[0]: {"__meta_consul_service": "demo", "__meta_consul_service_id": "demo-a", "__meta_consul_tags": ",scrape,v1,",
			"__meta_consul_service_metadata_version": "1.2.3", "__meta_consul_service_metadata_zone": "a",
			"__meta_consul_dc": "dc1", "__meta_consul_health": "passing", "__meta_consul_node": "127.0.0.1",
			"__meta_consul_service_address": "127.0.0.1"},
		hosts[1]: {"__meta_consul_service": "demo", "__meta_consul_service_id": "demo-b", "__meta_consul_tags": ",scrape,",
			"__meta_consul_service_metadata_version": "1.2.3", "__meta_consul_dc": "dc1", "__meta_consul_health": "passing",
			"__meta_consul_service_port": port},
	}
	prom.Eventually(t, 60*time.Second, "both demo instances up with their __meta_consul_* labels", func() error {
		targets, last := activeTargets(t, promURL)
		var problems []string
		up := 0
		for _, tg := range targets {
			w, ok := want[tg.Labels["instance"]]
			if !ok {
				problems = append(problems, "an unexpected target "+tg.Labels["instance"])
				continue
			}
			for k, v := range w {
				if tg.DiscoveredLabels[k] != v {
					problems = append(problems, fmt.Sprintf("%s: %s=%q, want %q", tg.Labels["instance"], k, tg.DiscoveredLabels[k], v))
				}
			}
			if tg.Labels["job"] != sdJob || tg.Labels["service"] != "demo" || tg.Labels["instance_id"] != w["__meta_consul_service_id"] ||
				tg.Labels["version"] != "1.2.3" {
				problems = append(problems, fmt.Sprintf("%s: labels %v", tg.Labels["instance"], tg.Labels))
			}
			if tg.Health == "up" {
				up++
			}
		}
		if len(problems) == 0 && up == 2 {
			return nil
		}
		sort.Strings(problems)
		return fmt.Errorf("%d up; %s; last: %s", up, strings.Join(problems, "; "), last)
	})
	prom.Eventually(t, 60*time.Second, `up{service="demo"} == 1 for both instances`, func() error {
		var q struct {
			Data struct {
				Result []struct {
					Metric map[string]string `json:"metric"`
					Value  []any             `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		last := getJSON(t, promURL+"/api/v1/query?query="+url.QueryEscape(`up{service="demo"} == 1`), &q)
		var got []string
		for _, r := range q.Data.Result {
			got = append(got, r.Metric["instance"])
		}
		sort.Strings(got)
		if want := []string{hosts[0], hosts[1]}; slices.Equal(got, sorted(want)) {
			return nil
		}
		return errors.New("last answer: " + last)
	})

	// Deregistered through the Consul API, demo-b leaves the targets.
	do(t, http.MethodPut, registryURL+"/v1/agent/service/deregister/demo-b", "", http.StatusOK)
	prom.Eventually(t, 30*time.Second, "demo-b gone from the targets, demo-a still there", func() error {
		targets, last := activeTargets(t, promURL)
		if len(targets) == 1 && targets[0].Labels["instance"] == hosts[0] {
			return nil
		}
		return errors.New("last: " + last)
	})
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}
