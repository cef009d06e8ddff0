package monitoring_test

// The acceptance test of alert delivery: Debian's prometheus and
// prometheus-alertmanager run with the shipped configurations against a
// real registry, and a webhook receiver started here gets the page.
//
// What the test changes in its temporary copies, and why:
//   - rules: every `for:` becomes 1s, and Prometheus scrapes and evaluates
//     every second, so alerts fire in seconds instead of minutes;
//   - prometheus.yml: the shipped global section (external label system
//     kept), rule_files and alerting section, with the Alertmanager target
//     and the vertice-registry job aimed at the processes started here;
//   - alertmanager.yml: group_wait and group_interval become 1s; the
//     webhook URLs keep their paths (/page, /notify) on the test's server;
//     the secret files move from /run/alertmanager/secrets to a temp
//     folder, and the mail relay to a closed loopback port (no mail leaves
//     the machine). Routes, receivers, templates and inhibit_rules are the
//     shipped ones, untouched;
//   - one extra rule file, inhibition_pair_alerts.yml, fires copies of
//     alerts that the shipped inhibit_rules relate, with the shipped labels
//     and annotations, an instance label, and NoServices's condition as
//     expr (so they fire with it): RedisBackendDown on instance a with
//     CircuitBreakerOpen on a and b, HighErrorRate, and HighMemory as an
//     uninhibited warning.
// Alertmanager starts through the shipped entrypoint.sh, with the webhook
// token in the environment and the Slack URL in a file.
//
// Prometheus drops alerts that fire before it has found Alertmanager (and
// resends only a minute later), so the registry starts with one service
// and the test removes it, emptying the catalog, only once Prometheus
// lists Alertmanager as active. All the test's alerts then fire in the
// same evaluation and reach Alertmanager together, within group_wait.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vertice/vertice/internal/testkit/freeport"
	"github.com/vertice/vertice/internal/testkit/poll"
	"github.com/vertice/vertice/internal/testkit/proc"
)

// webhookMessage is Alertmanager's webhook payload (version 4).
type webhookMessage struct {
	Receiver     string            `json:"receiver"`
	Status       string            `json:"status"`
	GroupLabels  map[string]string `json:"groupLabels"`
	CommonLabels map[string]string `json:"commonLabels"`
	Alerts       []struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"alerts"`
}

// delivery is one request the receiver got.
type delivery struct {
	path, auth string
	body       []byte
	msg        webhookMessage // decoded for the webhook paths
}

// firing lists the label sets of the firing alerts named alertname.
func (d delivery) firing(alertname string) []map[string]string {
	var out []map[string]string
	for _, a := range d.msg.Alerts {
		if a.Status == "firing" && a.Labels["alertname"] == alertname {
			out = append(out, a.Labels)
		}
	}
	return out
}

// receiver records every POST: the webhook (/page, /notify) and Slack
// (/slack) integrations all point at it.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []delivery
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		d := delivery{path: req.URL.Path, auth: req.Header.Get("Authorization"), body: b}
		if req.URL.Path != "/slack" {
			if err := json.Unmarshal(b, &d.msg); err != nil {
				t.Errorf("webhook %s: %v: %s", req.URL.Path, err, b)
			}
		}
		r.mu.Lock()
		r.got = append(r.got, d)
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) all() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// await polls until a delivery matches, failing when p exits or after
// within.
func (r *receiver) await(t *testing.T, p *proc.Process, within time.Duration, what string, match func(delivery) bool) delivery {
	t.Helper()
	var found delivery
	p.Eventually(t, within, what, poll.Explain(func() bool {
		for _, d := range r.all() {
			if match(d) {
				found = d
				return true
			}
		}
		return false
	}, func() string { return "received: " + r.summary() }))
	return found
}

func (r *receiver) summary() string {
	var parts []string
	for _, d := range r.all() {
		var names []string
		for _, a := range d.msg.Alerts {
			names = append(names, a.Status+":"+a.Labels["alertname"]+"{"+a.Labels["instance"]+"}")
		}
		parts = append(parts, d.path+" "+strings.Join(names, ","))
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// TestAlertsReachTheWebhook: ServiceRegistryNoServices fires against a
// real registry with nothing registered and pages through the webhook
// (name, severity, runbook link, the token from the environment) and Slack
// (URL from a file); an alert the shipped inhibit_rules silence is not
// delivered while its cause fires.
func TestAlertsReachTheWebhook(t *testing.T) {
	s := startAlerting(t)
	checkPage(t, s)
	checkInhibition(t, s)
}

// alerting is the running chain: registry -> Prometheus -> Alertmanager ->
// the test's receiver.
type alerting struct {
	hook  *receiver
	am    *proc.Process
	amURL string
	token string // the webhook's bearer token, given in the environment
}

func startAlerting(t *testing.T) alerting {
	t.Helper()
	promBin := tool(t, "prometheus")
	amBin := alertmanagerTool(t, "prometheus-alertmanager")
	sh := shell(t)
	s := alerting{hook: newReceiver(t), token: "token-from-the-environment"}
	dir := t.TempDir()

	// A registry with one service, removed once the chain is ready.
	regAddr := freeport.MustAddr(t)
	registry := "http://" + regAddr
	reg := start(t, "registry", built(t, "registry"), map[string]string{"REGISTRY_ADDR": regAddr})
	waitHTTP(t, reg, registry+"/health")
	post(t, registry+"/register", `{"service_name":"only_service","endpoint":"http://127.0.0.1:1"}`, http.StatusCreated)

	// Alertmanager, through entrypoint.sh: the webhook token from the
	// environment, the Slack URL from a file.
	secretsIn, secretsOut := filepath.Join(dir, "secrets-in"), filepath.Join(dir, "secrets")
	if err := os.MkdirAll(secretsIn, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secretsIn, "slack_api_url"), []byte(s.hook.srv.URL+"/slack\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	amConfig := writeAlertmanagerTestConfig(t, filepath.Join(dir, "alertmanager"), s.hook.srv.URL, secretsOut)
	amAddr := freeport.MustAddr(t)
	s.amURL = "http://" + amAddr
	s.am = start(t, "alertmanager", sh[0], map[string]string{
		"ALERTMANAGER_SECRETS_IN":    secretsIn,
		"ALERTMANAGER_SECRETS_OUT":   secretsOut,
		"ALERTMANAGER_WEBHOOK_TOKEN": s.token,
	}, append(sh[1:], entrypointScript, amBin,
		"--config.file="+amConfig,
		"--storage.path="+filepath.Join(dir, "alertmanager-data"),
		"--web.listen-address="+amAddr,
		"--cluster.listen-address=",
		"--log.level=warn")...)
	waitHTTP(t, s.am, s.amURL+"/-/ready")

	promConfig := writePrometheusTestConfig(t, filepath.Join(dir, "prometheus"), regAddr, amAddr)
	promAddr := freeport.MustAddr(t)
	prom := start(t, "prometheus", promBin, nil,
		"--config.file="+promConfig,
		"--storage.tsdb.path="+filepath.Join(dir, "prometheus-data"),
		"--web.listen-address="+promAddr,
		"--log.level=warn")
	promURL := "http://" + promAddr
	waitHTTP(t, prom, promURL+"/-/ready")

	var last string
	prom.Eventually(t, 30*time.Second, "Prometheus finds Alertmanager", poll.Explain(func() bool {
		var ams struct {
			Data struct {
				Active []struct {
					URL string `json:"url"`
				} `json:"activeAlertmanagers"`
			} `json:"data"`
		}
		last = getJSON(t, promURL+"/api/v1/alertmanagers", &ams)
		return len(ams.Data.Active) == 1 && strings.Contains(ams.Data.Active[0].URL, amAddr)
	}, func() string { return "last answer: " + last }))
	// Now empty the catalog: NoServices and the inhibition pair fire.
	do(t, http.MethodDelete, registry+"/services/only_service", "", http.StatusOK, http.StatusNoContent)
	return s
}

// checkPage: NoServices reaches the critical receiver's webhook with its
// name, severity and runbook link and the token, and Slack with the link.
func checkPage(t *testing.T, s alerting) {
	t.Helper()
	const noServices = "ServiceRegistryNoServices"
	var runbook string
	for _, r := range alertRules(t) {
		if r.Alert == noServices {
			runbook = r.Annotations["runbook_url"]
		}
	}
	page := s.hook.await(t, s.am, 90*time.Second, "a page for "+noServices, func(d delivery) bool {
		return d.path == "/page" && len(d.firing(noServices)) > 0
	})
	if page.msg.Receiver != receiverFor["critical"] {
		t.Errorf("%s reached receiver %q, want %q", noServices, page.msg.Receiver, receiverFor["critical"])
	}
	if page.auth != "Bearer "+s.token {
		t.Errorf("webhook Authorization %q, want the token from ALERTMANAGER_WEBHOOK_TOKEN", page.auth)
	}
	for _, a := range page.msg.Alerts {
		if a.Labels["alertname"] != noServices {
			continue
		}
		if a.Labels["severity"] != "critical" {
			t.Errorf("%s arrived with severity %q, want critical", noServices, a.Labels["severity"])
		}
		link := a.Annotations["runbook_url"]
		if link == "" || link != runbook {
			t.Errorf("%s arrived with runbook_url %q, want the rule's %q", noServices, link, runbook)
		} else if _, sec, err := resolveRunbookURL(link); err != nil || sec.heading != noServices {
			t.Errorf("%s's runbook link %q leads nowhere useful: section %q, %v", noServices, link, sec.heading, err)
		}
	}
	// Slack got it too (its URL read from the secret file), with the link.
	s.hook.await(t, s.am, 30*time.Second, "a Slack message for "+noServices, func(d delivery) bool {
		b := string(d.body)
		return d.path == "/slack" && strings.Contains(b, noServices) && strings.Contains(b, "critical") &&
			strings.Contains(b, runbook)
	})
}

// checkInhibition: CircuitBreakerOpen on a and on b fire in one group and
// RedisBackendDown on a silences a, so the page that carries b must not
// carry a; HighErrorRate, silenced system-wide, is held back while the
// uninhibited HighMemory reaches /notify.
func checkInhibition(t *testing.T, s alerting) {
	t.Helper()
	const breaker, redisDown = "ServiceRegistryCircuitBreakerOpen", "ServiceRegistryRedisBackendDown"
	s.hook.await(t, s.am, 30*time.Second, "a page for "+redisDown+", the inhibiting alert", func(d delivery) bool {
		return d.path == "/page" && len(d.firing(redisDown)) > 0
	})
	group := s.hook.await(t, s.am, 30*time.Second, "a page for "+breaker+" on instance b", func(d delivery) bool {
		return d.path == "/page" && slices.ContainsFunc(d.firing(breaker), func(l map[string]string) bool { return l["instance"] == "b" })
	})
	for _, l := range group.firing(breaker) {
		if l["instance"] == "a" {
			t.Errorf("%s on instance a was delivered while %s fired on a: %v", breaker, redisDown, group.msg)
		}
	}
	s.hook.await(t, s.am, 30*time.Second, "a notification for the uninhibited ServiceRegistryHighMemory", func(d delivery) bool {
		return d.path == "/notify" && len(d.firing("ServiceRegistryHighMemory")) > 0
	})
	awaitInhibited(t, s.am, s.amURL, "ServiceRegistryHighErrorRate", "")
	awaitInhibited(t, s.am, s.amURL, breaker, "a")
	for _, d := range s.hook.all() {
		if len(d.firing("ServiceRegistryHighErrorRate")) > 0 {
			t.Errorf("ServiceRegistryHighErrorRate was delivered to %s while %s fired", d.path, redisDown)
		}
		for _, l := range d.firing(breaker) {
			if l["instance"] == "a" {
				t.Errorf("%s on a was delivered to %s while %s fired on a", breaker, d.path, redisDown)
			}
		}
	}
}

// awaitInhibited polls Alertmanager's API until alertname (on instance,
// when given) is held back by an inhibition.
func awaitInhibited(t *testing.T, am *proc.Process, amURL, alertname, instance string) {
	t.Helper()
	filter := url.QueryEscape(`alertname="` + alertname + `"`)
	var last string
	am.Eventually(t, 30*time.Second, alertname+" "+instance+" inhibited in /api/v2/alerts", poll.Explain(func() bool {
		var alerts []struct {
			Labels map[string]string `json:"labels"`
			Status struct {
				State       string   `json:"state"`
				InhibitedBy []string `json:"inhibitedBy"`
			} `json:"status"`
		}
		last = getJSON(t, amURL+"/api/v2/alerts?filter="+filter, &alerts)
		for _, a := range alerts {
			if (instance == "" || a.Labels["instance"] == instance) && a.Status.State == "suppressed" && len(a.Status.InhibitedBy) > 0 {
				return true
			}
		}
		return false
	}, func() string { return "last answer: " + last }))
}

// writePrometheusTestConfig writes prometheus.yml, the shipped rules made
// fast, and the inhibition pair into dir, and returns the config's path.
func writePrometheusTestConfig(t *testing.T, dir, registryAddr, alertmanagerAddr string) string {
	t.Helper()
	var cfg map[string]any
	readYAML(t, configFile, &cfg)
	global, _ := cfg["global"].(map[string]any)
	if global == nil {
		t.Fatalf("%s has no global section", configFile)
	}
	global["scrape_interval"], global["scrape_timeout"], global["evaluation_interval"] = "1s", "1s", "1s"

	// The shipped alerting section, aimed at the test's Alertmanager.
	alerting, _ := cfg["alerting"].(map[string]any)
	ams, _ := alerting["alertmanagers"].([]any)
	if len(ams) != 1 {
		t.Fatalf("%s: alerting.alertmanagers should hold one entry, holds %d", configFile, len(ams))
	}
	statics, _ := ams[0].(map[string]any)["static_configs"].([]any)
	if len(statics) != 1 {
		t.Fatalf("%s: the alertmanagers entry should have one static_configs entry", configFile)
	}
	statics[0].(map[string]any)["targets"] = []any{alertmanagerAddr}

	// Only the registry job, aimed at the test's registry: the rules
	// select job="vertice-registry".
	var job map[string]any
	scrapes, _ := cfg["scrape_configs"].([]any)
	for _, s := range scrapes {
		if m, _ := s.(map[string]any); m["job_name"] == "vertice-registry" {
			job = m
		}
	}
	if job == nil {
		t.Fatalf("%s has no vertice-registry job", configFile)
	}
	job["static_configs"] = []any{map[string]any{"targets": []any{registryAddr}}}
	cfg["scrape_configs"] = []any{job}

	rulesDir := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var rules map[string]any
	readYAML(t, rulesFile, &rules)
	for _, g := range rules["groups"].([]any) {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			if rule := r.(map[string]any); rule["for"] != nil {
				rule["for"] = "1s"
			}
		}
	}
	writeYAML(t, filepath.Join(rulesDir, filepath.Base(rulesFile)), rules)
	writeYAML(t, filepath.Join(rulesDir, "inhibition_pair_alerts.yml"), inhibitionPair(t))

	path := filepath.Join(dir, "prometheus.yml")
	writeYAML(t, path, cfg)
	// The shipped rule_files glob must find both files.
	if out := runTool(t, dir, "promtool", "check", "config", "prometheus.yml"); !strings.Contains(out, "2 rule files found") {
		t.Fatalf("the test's prometheus.yml does not load both rule files:\n%s", out)
	}
	return path
}

// inhibitionPair is a rule file of alerts with the shipped alerts' names,
// labels and annotations, on instances a and b, that fire with NoServices.
func inhibitionPair(t *testing.T) map[string]any {
	t.Helper()
	shipped := map[string]alertRule{}
	for _, r := range alertRules(t) {
		shipped[r.Alert] = r
	}
	var rules []any
	for _, c := range []struct{ alert, instance string }{
		{"ServiceRegistryRedisBackendDown", "a"},   // the cause...
		{"ServiceRegistryCircuitBreakerOpen", "a"}, // ...silences this (same instance)
		{"ServiceRegistryCircuitBreakerOpen", "b"}, // ...not this (another instance)
		{"ServiceRegistryHighErrorRate", ""},       // ...and this (whole system)
		{"ServiceRegistryHighMemory", "b"},         // no inhibition names it
	} {
		r, ok := shipped[c.alert]
		if !ok {
			t.Fatalf("%s has no %s", rulesFile, c.alert)
		}
		// NoServices's condition, so the pair fires when the test empties
		// the registry. The instance label comes from the series, as in the
		// real alerts, so the annotations' {{ $labels.instance }} fill in.
		expr := shipped["ServiceRegistryNoServices"].Expr
		if c.instance != "" {
			expr = fmt.Sprintf(`label_replace(%s, "instance", %q, "", "")`, expr, c.instance)
		}
		rules = append(rules, map[string]any{"alert": c.alert, "expr": expr, "for": "1s",
			"labels": r.Labels, "annotations": r.Annotations})
	}
	return map[string]any{"groups": []any{map[string]any{"name": "test-inhibition-pair", "rules": rules}}}
}

// writeAlertmanagerTestConfig copies alertmanager.yml and its templates
// into dir with the changes the file comment lists, and returns the
// config's path.
func writeAlertmanagerTestConfig(t *testing.T, dir, hookURL, secrets string) string {
	t.Helper()
	var cfg map[string]any
	readYAML(t, alertmanagerConfig, &cfg)
	global, _ := cfg["global"].(map[string]any)
	if global == nil {
		t.Fatalf("%s has no global section", alertmanagerConfig)
	}
	global["smtp_smarthost"] = freeport.MustAddr(t) // nothing listens: mail fails at once, on loopback
	global["smtp_require_tls"] = false

	var fastRoutes func(route map[string]any)
	fastRoutes = func(route map[string]any) {
		route["group_wait"], route["group_interval"] = "1s", "1s"
		children, _ := route["routes"].([]any)
		for _, c := range children {
			fastRoutes(c.(map[string]any))
		}
	}
	route, _ := cfg["route"].(map[string]any)
	if route == nil {
		t.Fatalf("%s has no route", alertmanagerConfig)
	}
	fastRoutes(route)

	hooks := 0
	for _, r := range cfg["receivers"].([]any) {
		webhooks, _ := r.(map[string]any)["webhook_configs"].([]any)
		for _, w := range webhooks {
			w := w.(map[string]any)
			u, err := url.Parse(w["url"].(string))
			if err != nil {
				t.Fatal(err)
			}
			w["url"] = hookURL + u.Path
			hooks++
		}
	}
	if hooks == 0 {
		t.Fatalf("%s has no webhook receiver", alertmanagerConfig)
	}
	moveSecretFiles(cfg, secrets)

	if err := os.MkdirAll(filepath.Join(dir, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	tmpls, _ := filepath.Glob(filepath.Join(alertmanagerDir, "templates", "*.tmpl"))
	for _, src := range tmpls {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "templates", filepath.Base(src)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "alertmanager.yml")
	writeYAML(t, path, cfg)
	amtool(t, "check-config", path)
	// The routing and inhibition under test are the shipped ones.
	if got, want := inhibitRules(t, path), inhibitRules(t, alertmanagerConfig); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("the test's inhibit_rules %v differ from the shipped %v", got, want)
	}
	return path
}

// moveSecretFiles points every *_file field under secretsDir at dir.
func moveSecretFiles(v any, dir string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && strings.HasSuffix(k, "_file") && strings.HasPrefix(s, secretsDir+"/") {
				v[k] = filepath.Join(dir, strings.TrimPrefix(s, secretsDir+"/"))
				continue
			}
			moveSecretFiles(x, dir)
		}
	case []any:
		for _, x := range v {
			moveSecretFiles(x, dir)
		}
	}
}

func writeYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
