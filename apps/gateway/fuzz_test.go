package main

import (
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/envconf"
	"github.com/vertice/vertice/ports/portstest"
)

var fixedProblems = map[string]bool{
	"its value is not an absolute http(s) URL (e.g. http://vertice-nmap:8047)": true,
	"its URL carries credentials (user:password@)":                             true,
	"its URL has a query string":                                               true,
	"its URL has a fragment":                                                   true,
	"its URL path has . or .. segments":                                        true,
}

// FuzzLoadConfig sets one variable to anything on top of a working
// environment. LoadConfig must not panic; what it accepts must wire; a
// fallback it keeps must be a plain http(s) URL; and no warning may repeat
// the value (it can hold credentials).
//
//	go test -fuzz FuzzLoadConfig ./apps/gateway/
func FuzzLoadConfig(f *testing.F) {
	for _, seed := range [][2]string{
		{"NMAP_SERVICE_URL", "http://vertice-nmap:8047"},
		{"DATABASE_URL", "postgres://user:pw@db/x"},
		{"SENTRY_URL", "https://key@sentry.example/1"},
		{"A_URL", "http://admin:s3cret@10.0.0.5:8080/?x=1#f"},
		{"A_URL", "http://10.0.0.5:8080/api/../.."},
		{"A_URL", "http://[::1]:80"},
		{"A_URL", "http://:80"},
		{"A_URL", "http://x:99999"},
		{"A_URL", "http://x/%zz"},
		{"A_URL", "HTTP://X"},
		{"A_URL", "http://x/\r\n"},
		{"_URL", "http://x"},
		{"REGISTRY_URL", "http://registry:8888/base"},
		{"REGISTRY_URL", "ftp://x"},
		{"CACHE_TTL", "-1"},
		{"ROUTE_STALE_TTL", "0s"},
		{"ROUTE_FORGET_AFTER", "0"},
		{"GATEWAY_MAX_HOPS", "0"},
		{"HTTP_MAX_HEADER_BYTES", "1e9"},
		{"HTTP_WRITE_TIMEOUT", "9999999999999999999"},
		{"UPSTREAM_IDLE_TIMEOUT", "1ns"},
		{"NMAP_SERVICE_VERSIONS", "1.0.0:90,1.1.0:10"},
		{"NMAP_SERVICE_VERSIONS", "none:1,a:b:2"},
		{"NMAP_SERVICE_VERSIONS", "1.0.0:0"},
		{"NMAP_SERVICE_RATE", "100/s,burst=200"},
		{"NMAP_SERVICE_RATE", "1e-300/h"},
		{"NMAP_SERVICE_RATE", "999999/s,burst=1000000"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		if name == "" || strings.ContainsAny(name, "=\x00") {
			return // not something an environment can hold
		}
		env := map[string]string{"REGISTRY_URL": "http://registry:8888", name: value}
		cfg, err := LoadConfig(envconf.Map(env), []string{name + "=" + value})
		if err != nil {
			return
		}
		for service, raw := range cfg.Fallbacks {
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil ||
				u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#") {
				t.Fatalf("fallback %s = %q kept", service, raw)
			}
		}
		for _, w := range cfg.Warnings { // fixed texts only: the value never appears
			head := name + " is not used as a fallback route for " + strings.ToLower(strings.TrimSuffix(name, "_URL")) + ": "
			if problem, ok := strings.CutPrefix(w, head); !ok || !fixedProblems[problem] {
				t.Fatalf("warning %q is not one of the fixed texts", w)
			}
		}
		app, err := wire(cfg, portstest.NewFakeClock(time.Unix(0, 0)), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("%s=%q loads but does not wire: %v", name, value, err)
		}
		app.close()
	})
}
