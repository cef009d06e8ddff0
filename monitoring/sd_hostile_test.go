package monitoring_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vertice/vertice/internal/testkit/freeport"
	"github.com/vertice/vertice/internal/testkit/poll"
)

// TestHostileMetadataDoesNotSteerPrometheus is issue 12, item 1, end to
// end: a real Prometheus runs prometheus.yml's discovery job against a
// real registry. Metadata naming Prometheus's own labels is refused at
// registration; metadata that passes the key rule but looks like labels
// (job, instance, service, _metrics_path__, status) changes no target's
// scrape URL, job, instance or service, and the sidecar's status never
// becomes a label (it would split a target's series when health flips).
func TestHostileMetadataDoesNotSteerPrometheus(t *testing.T) {
	promBin := tool(t, "prometheus")
	addr := freeport.MustAddr(t)
	registryURL := "http://" + addr
	reg := start(t, "registry", built(t, "registry"), map[string]string{"REGISTRY_ADDR": addr, "REGISTRY_TTL": "60s"})
	waitHTTP(t, reg, registryURL+"/health")

	var secretHits atomic.Int64
	instance := func() string {
		r := prometheus.NewRegistry()
		r.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "demo_requests_total", Help: "Requests."}))
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(r, promhttp.HandlerOpts{}))
		mux.HandleFunc("/admin/", func(w http.ResponseWriter, _ *http.Request) {
			secretHits.Add(1)
			http.Error(w, "no", http.StatusForbidden)
		})
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	plain, lookalike := instance(), instance()

	// Keys Prometheus acts on are refused, naming the key and the rule.
	code := post(t, registryURL+"/register", `{"service_name":"evil","endpoint":"`+plain+`","metadata":`+
		`{"__metrics_path__":"/admin/secret","__param_cmd":"drop","job":"vertice-registry"}}`, 0)
	if code != http.StatusBadRequest {
		t.Fatalf("hostile metadata: want 400, got %d", code)
	}
	post(t, registryURL+"/register", `{"service_name":"demo","endpoint":"`+plain+
		`","metadata":{"version":"1.2.3","status":"healthy"}}`, http.StatusCreated)
	post(t, registryURL+"/register", `{"service_name":"lookalike","endpoint":"`+lookalike+`","metadata":`+
		`{"job":"vertice-registry","instance":"evil:1","service":"other","instance_id":"x",`+
		`"_metrics_path__":"/admin/secret","_param_cmd":"drop","status":"unhealthy","zone":"a"}}`, http.StatusCreated)

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, discoveryConfig(t, registryURL+"/v1/sd/prometheus"), 0o644); err != nil {
		t.Fatal(err)
	}
	promAddr := freeport.MustAddr(t)
	promURL := "http://" + promAddr
	prom := start(t, "prometheus", promBin, nil, "--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+promAddr, "--log.level=warn")
	waitHTTP(t, prom, promURL+"/-/ready")

	want := map[string]struct{ service, extra string }{
		strings.TrimPrefix(plain, "http://"):     {"demo", "version=1.2.3"},
		strings.TrimPrefix(lookalike, "http://"): {"lookalike", "zone=a"},
	}
	var last string
	var problems []string
	prom.Eventually(t, 60*time.Second, "both targets up with their own labels", poll.Explain(func() bool {
		var targets struct {
			Data struct {
				ActiveTargets []struct {
					Labels    map[string]string `json:"labels"`
					Health    string            `json:"health"`
					ScrapeURL string            `json:"scrapeUrl"`
				} `json:"activeTargets"`
			} `json:"data"`
		}
		last = getJSON(t, promURL+"/api/v1/targets?state=active", &targets)
		problems = nil
		up := 0
		for _, tg := range targets.Data.ActiveTargets {
			l := tg.Labels
			w, ok := want[l["instance"]]
			if !ok {
				problems = append(problems, "a target with instance "+l["instance"])
				continue
			}
			if tg.ScrapeURL != "http://"+l["instance"]+"/metrics" {
				problems = append(problems, "scrape URL "+tg.ScrapeURL)
			}
			if l["job"] != sdJob || l["service"] != w.service {
				problems = append(problems, "job "+l["job"]+", service "+l["service"])
			}
			var names []string
			for k, v := range l {
				if k != "job" && k != "instance" && k != "service" && k != "instance_id" && k != "endpoint" {
					names = append(names, k+"="+v)
				}
			}
			sort.Strings(names)
			if strings.Join(names, ",") != w.extra {
				problems = append(problems, l["instance"]+" has labels "+strings.Join(names, ","))
			}
			if tg.Health == "up" {
				up++
			}
		}
		return len(problems) == 0 && up == 2
	}, func() string { return "problems " + strings.Join(problems, "; ") + "; last: " + last }))

	// The series say the same: two up series, both in the discovery job.
	prom.Eventually(t, 60*time.Second, "two up series, both in the discovery job", poll.Explain(func() bool {
		var q struct {
			Data struct {
				Result []struct {
					Metric map[string]string `json:"metric"`
				} `json:"result"`
			} `json:"data"`
		}
		last = getJSON(t, promURL+"/api/v1/query?query="+url.QueryEscape("up"), &q)
		if len(q.Data.Result) != 2 {
			return false
		}
		for _, r := range q.Data.Result {
			if r.Metric["job"] != sdJob || r.Metric["status"] != "" {
				t.Fatalf("an up series with job %q, status %q: %s", r.Metric["job"], r.Metric["status"], last)
			}
		}
		return true
	}, func() string { return "last: " + last }))
	if n := secretHits.Load(); n != 0 {
		t.Fatalf("Prometheus requested /admin/ %d times", n)
	}
}
