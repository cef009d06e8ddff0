package monitoring_test

// Static checks of the Alertmanager configuration: amtool accepts it, the
// routing tree sends each severity where alertmanager.yml says, the
// inhibition rules name alerts that exist, no secret is written in it, and
// entrypoint.sh takes secrets from the environment or from files.
//
// amtool and prometheus-alertmanager come from Debian
// (apt-get install prometheus-alertmanager). Without them the tests skip,
// unless CI is set: then they fail.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	alertmanagerDir    = "alertmanager"
	alertmanagerConfig = "alertmanager/alertmanager.yml"
	entrypointScript   = "alertmanager/entrypoint.sh"
	// secretsDir is where alertmanager.yml reads secrets and where
	// entrypoint.sh writes them (a tmpfs in compose).
	secretsDir = "/run/alertmanager/secrets"
)

// receiverFor is the routing tree's contract: which receiver each
// severity reaches.
var receiverFor = map[string]string{
	"critical": "vertice-page",   // pages
	"warning":  "vertice-notify", // notifies
	"info":     "vertice-record", // records only
}

// alertmanagerTool finds a binary of Debian's prometheus-alertmanager.
func alertmanagerTool(t *testing.T, name string) string {
	return debianTool(t, name, "prometheus-alertmanager")
}

// amtool runs amtool and returns its standard output; it fails the test
// with both outputs when amtool fails.
func amtool(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, alertmanagerTool(t, "amtool"), args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("amtool %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

func TestAmtoolCheckConfig(t *testing.T) {
	out := amtool(t, "check-config", alertmanagerConfig)
	// Templates are relative to the config: a moved folder finds none.
	if !strings.Contains(out, " - 1 templates") {
		t.Errorf("amtool found no notification template next to %s:\n%s", alertmanagerConfig, out)
	}
}

// alertRule is one alert of the rules file with its labels and annotations.
type alertRule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func alertRules(t *testing.T) []alertRule {
	t.Helper()
	var rules struct {
		Groups []struct {
			Rules []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, rulesFile, &rules)
	var out []alertRule
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				out = append(out, r)
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no alerts", rulesFile)
	}
	return out
}

// TestAlertmanagerRoutesBySeverity asks amtool where each shipped alert
// goes, and checks that the receivers do what their severity promises.
func TestAlertmanagerRoutesBySeverity(t *testing.T) {
	route := func(labels ...string) string {
		args := append([]string{"config", "routes", "test", "--config.file=" + alertmanagerConfig}, labels...)
		return strings.TrimSpace(amtool(t, args...))
	}
	for _, r := range alertRules(t) {
		sev := r.Labels["severity"]
		want, ok := receiverFor[sev]
		if !ok {
			t.Errorf("%s: severity %q is none of critical, warning, info", r.Alert, sev)
			continue
		}
		if got := route("alertname="+r.Alert, "severity="+sev, "instance=vertice-register-1:8888", "system=vertice"); got != want {
			t.Errorf("%s (severity %s) goes to %q, want %q", r.Alert, sev, got, want)
		}
	}
	// An alert someone adds without a severity must still reach people.
	if got := route("alertname=SomethingNew"); got != receiverFor["warning"] {
		t.Errorf("an alert without severity goes to %q, want %q", got, receiverFor["warning"])
	}

	var cfg struct {
		Receivers []map[string]any `yaml:"receivers"`
	}
	readYAML(t, alertmanagerConfig, &cfg)
	integrations := map[string][]string{}
	for _, r := range cfg.Receivers {
		name, _ := r["name"].(string)
		integrations[name] = []string{}
		for k := range r {
			if strings.HasSuffix(k, "_configs") {
				integrations[name] = append(integrations[name], k)
			}
		}
		slices.Sort(integrations[name])
	}
	want := map[string][]string{
		receiverFor["critical"]: {"email_configs", "slack_configs", "webhook_configs"},
		receiverFor["warning"]:  {"slack_configs", "webhook_configs"},
		receiverFor["info"]:     {},
	}
	for name, w := range want {
		got, ok := integrations[name]
		if !ok {
			t.Errorf("%s: no receiver %s", alertmanagerConfig, name)
			continue
		}
		if !slices.Equal(got, w) {
			t.Errorf("receiver %s sends through %v, want %v", name, got, w)
		}
	}
}

// inhibitRule is one inhibit_rules entry.
type inhibitRule struct {
	SourceMatchers []string `yaml:"source_matchers"`
	TargetMatchers []string `yaml:"target_matchers"`
	Equal          []string `yaml:"equal"`
}

func inhibitRules(t *testing.T, path string) []inhibitRule {
	t.Helper()
	var cfg struct {
		InhibitRules []inhibitRule `yaml:"inhibit_rules"`
	}
	readYAML(t, path, &cfg)
	return cfg.InhibitRules
}

var alertnameMatcher = regexp.MustCompile(`^\s*alertname\s*(=~|=)\s*"([^"]*)"\s*$`)

// matchedAlertNames lists the names an alertname matcher selects; a regex
// matcher must be a plain alternation of names (A|B|C).
func matchedAlertNames(matchers []string) (names []string, ok bool) {
	for _, m := range matchers {
		sub := alertnameMatcher.FindStringSubmatch(m)
		if sub == nil {
			continue
		}
		if sub[1] == "=" {
			return []string{sub[2]}, true
		}
		return strings.Split(sub[2], "|"), true
	}
	return nil, false
}

// TestInhibitionRulesNameShippedAlerts keeps inhibition from silently
// matching nothing: every alertname an inhibition rule names, on either
// side, is an alert of the rules file, and the one the issue names is
// there (RedisBackendDown silencing the errors it causes).
func TestInhibitionRulesNameShippedAlerts(t *testing.T) {
	alerts := map[string]bool{}
	for _, r := range alertRules(t) {
		alerts[r.Alert] = true
	}
	rules := inhibitRules(t, alertmanagerConfig)
	if len(rules) == 0 {
		t.Fatalf("%s has no inhibit_rules", alertmanagerConfig)
	}
	silences := map[string][]string{} // source -> targets
	for i, r := range rules {
		src, ok1 := matchedAlertNames(r.SourceMatchers)
		dst, ok2 := matchedAlertNames(r.TargetMatchers)
		if !ok1 || !ok2 {
			t.Errorf("inhibit rule %d: source and target must each match alertname (%q, %q)", i, r.SourceMatchers, r.TargetMatchers)
			continue
		}
		for _, n := range append(slices.Clone(src), dst...) {
			if !alerts[n] {
				t.Errorf("inhibit rule %d names %q, which is no alert of %s", i, n, rulesFile)
			}
		}
		if !slices.Contains(r.Equal, "system") {
			t.Errorf("inhibit rule %d: equal %v lacks system (Prometheus's external label): one deployment would silence another's alerts", i, r.Equal)
		}
		for _, s := range src {
			silences[s] = append(silences[s], dst...)
		}
	}
	if !slices.Contains(silences["ServiceRegistryRedisBackendDown"], "ServiceRegistryHighErrorRate") {
		t.Errorf("ServiceRegistryRedisBackendDown does not inhibit ServiceRegistryHighErrorRate (the 503s it causes); it inhibits %v",
			silences["ServiceRegistryRedisBackendDown"])
	}
}

// secretKeys are Alertmanager fields that hold a secret in clear; each has
// a *_file form that must be used instead.
var secretKeys = map[string]bool{
	"slack_api_url": true, "api_url": true, "smtp_auth_password": true, "auth_password": true, "auth_secret": true,
	"credentials": true, "password": true, "bearer_token": true, "api_key": true, "routing_key": true,
	"service_key": true, "token": true, "bot_token": true, "webhook_url": true,
}

// TestAlertmanagerConfigHoldsNoSecrets walks alertmanager.yml: no field
// holds a secret in clear, and every *_file field reads one of the files
// entrypoint.sh writes.
func TestAlertmanagerConfigHoldsNoSecrets(t *testing.T) {
	var cfg map[string]any
	readYAML(t, alertmanagerConfig, &cfg)
	written := entrypointSecrets(t)
	files := 0
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				p := path + "." + k
				if s, ok := x.(string); ok && secretKeys[k] && s != "" {
					t.Errorf("%s: %s holds a secret in the committed file; use %s_file", alertmanagerConfig, p, k)
				}
				if s, ok := x.(string); ok && strings.HasSuffix(k, "_file") {
					files++
					if filepath.Dir(s) != secretsDir || !slices.Contains(written, filepath.Base(s)) {
						t.Errorf("%s: %s reads %s; entrypoint.sh writes only %s/{%s}", alertmanagerConfig, p, s,
							secretsDir, strings.Join(written, ","))
					}
				}
				walk(p, x)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), x)
			}
		}
	}
	walk("", cfg)
	if files < 3 {
		t.Errorf("%s reads %d secret files; want the Slack URL, the SMTP password and the webhook token", alertmanagerConfig, files)
	}
}

var secretLine = regexp.MustCompile(`(?m)^secret ([a-z_]+) ([A-Z_]+)$`)

// entrypointSecrets lists the secret files entrypoint.sh writes.
func entrypointSecrets(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(entrypointScript)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range secretLine.FindAllStringSubmatch(string(b), -1) {
		names = append(names, m[1])
	}
	if len(names) == 0 {
		t.Fatalf("%s writes no secret (no `secret NAME VARIABLE` line)", entrypointScript)
	}
	return names
}

// shell is the shell the container runs entrypoint.sh with: busybox (as
// in the local image and the upstream one) when installed, else sh.
func shell(t *testing.T) []string {
	t.Helper()
	if bb, err := exec.LookPath("busybox"); err == nil {
		return []string{bb, "sh"}
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal("no sh")
	}
	t.Logf("busybox not installed (apt-get install busybox-static): running %s with %s", entrypointScript, sh)
	return []string{sh}
}

// TestEntrypointTakesSecretsFromEnvOrFiles runs entrypoint.sh: a variable
// wins over a file, a file is used when the variable is empty, a secret
// given neither way is not written, and the command runs after.
func TestEntrypointTakesSecretsFromEnvOrFiles(t *testing.T) {
	in, out := t.TempDir(), filepath.Join(t.TempDir(), "secrets")
	for name, content := range map[string]string{"slack_api_url": "http://from-file/slack\n", "webhook_token": "file-token"} {
		if err := os.WriteFile(filepath.Join(in, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sh := shell(t)
	ran := filepath.Join(t.TempDir(), "ran")
	cmd := exec.Command(sh[0], append(sh[1:], entrypointScript, "/bin/sh", "-c", "echo started > "+ran)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"),
		"ALERTMANAGER_SECRETS_IN=" + in, "ALERTMANAGER_SECRETS_OUT=" + out,
		"ALERTMANAGER_WEBHOOK_TOKEN=env-token", "ALERTMANAGER_SLACK_API_URL="}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", entrypointScript, err, b)
	}
	want := map[string]string{"webhook_token": "env-token", "slack_api_url": "http://from-file/slack\n"}
	for _, name := range entrypointSecrets(t) {
		b, err := os.ReadFile(filepath.Join(out, name))
		w, given := want[name]
		switch {
		case !given && err == nil:
			t.Errorf("%s written though given neither way: %q", name, b)
		case given && err != nil:
			t.Errorf("%s: %v", name, err)
		case given && string(b) != w:
			t.Errorf("%s = %q, want %q", name, b, w)
		}
		if given && err == nil {
			if fi, _ := os.Stat(filepath.Join(out, name)); fi.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s is readable by others: %v", name, fi.Mode())
			}
		}
	}
	if b, err := os.ReadFile(ran); err != nil || strings.TrimSpace(string(b)) != "started" {
		t.Errorf("the command after the secrets did not run: %q %v", b, err)
	}
}
