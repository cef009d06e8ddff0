package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/vertice/vertice/internal/envconf"
	"github.com/vertice/vertice/internal/testkit/dockertest"
	"github.com/vertice/vertice/internal/testkit/poll"
)

func TestMain(m *testing.M) {
	// The outage test refuses Redis connections on purpose: keep go-redis's
	// pool from logging each refused dial.
	redis.SetLogger(quiet{})
	os.Exit(dockertest.Main(m))
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// Outage test settings: short enough for a test, in the same proportions
// as production (breaker open ≪ stale cache TTL ≪ lease TTL).
const (
	outageStale       = 6 * time.Second
	outageBreakerOpen = time.Second
	// hangGuard bounds every request during the outage: REDIS_TIMEOUT is
	// 300ms, so a request near this bound means something waits on a dead
	// Redis. A guard, not a latency goal.
	hangGuard = 2 * time.Second
)

// TestRegistryKeepsServingThroughRedisOutage runs the wired registry on a
// real Redis reached through an in-process Toxiproxy, then cuts Redis off
// (the proxy refuses connections and drops the open ones): lookups of
// services it has served keep answering 200 from the stale cache until
// STALE_CACHE_TTL, writes get 503 with Retry-After, /health says degraded
// with the reason, and nothing hangs. With Redis back, /health turns
// healthy and writes succeed, and the leases written before the outage are
// still there.
func TestRegistryKeepsServingThroughRedisOutage(t *testing.T) {
	r := dockertest.StartRedis(t)
	proxy := redisProxy(t, r.MustAddr(t))
	base := startRegistry(t, map[string]string{
		"REGISTRY_ADDR":          "127.0.0.1:0",
		"REGISTRY_TTL":           "60s",
		"REDIS_URL":              "redis://" + proxy.Listen,
		"REDIS_TIMEOUT":          "300ms",
		"STALE_CACHE_TTL":        outageStale.String(),
		"STORE_BREAKER_FAILURES": "3",
		"STORE_BREAKER_OPEN":     outageBreakerOpen.String(),
	})
	c := &apiClient{t: t, base: base, http: &http.Client{Timeout: 2 * hangGuard}}

	services := []string{"outage_a", "outage_b", "outage_c"}
	for _, s := range services {
		c.expect(http.MethodPost, "/register", register(s, s+"-1"), http.StatusCreated)
	}
	c.expect(http.MethodGet, "/health", "", http.StatusOK, `"status":"healthy"`)
	// The registry caches what it has read: look every service up once, as
	// gateways do all the time. The cache is at most this old when Redis
	// goes away.
	cachedAt := time.Now()
	for _, s := range services {
		c.expect(http.MethodGet, "/services/"+s, "", http.StatusOK, `"endpoint":"http://`+s+`-1:8080"`)
	}
	c.expect(http.MethodGet, "/services", "", http.StatusOK, `"outage_a"`)

	if err := proxy.Disable(); err != nil {
		t.Fatalf("cut Redis off: %v", err)
	}
	t.Log("Redis unreachable")

	// The breaker opens after a few failed calls; until then /health may
	// still say healthy, while reads already fall back to the cache.
	poll.Eventually(t, 5*time.Second, "/health degraded", func() error {
		c.expect(http.MethodGet, "/services/"+services[0], "", http.StatusOK)
		return c.check(http.MethodGet, "/health", "", http.StatusOK, `"status":"degraded"`, `"reason":"redis unreachable`)
	})
	// Through several breaker open → half-open → open cycles, while the
	// cached reads are younger than STALE_CACHE_TTL.
	rounds := 0
	for time.Since(cachedAt) < outageStale-1500*time.Millisecond {
		rounds++
		for _, s := range services {
			c.expect(http.MethodGet, "/services/"+s, "", http.StatusOK, `"endpoint":"http://`+s+`-1:8080"`)
		}
		c.expect(http.MethodGet, "/services", "", http.StatusOK, `"outage_a","outage_b","outage_c"`)
		h := c.expect(http.MethodPost, "/register", register("outage_new", "new-1"), http.StatusServiceUnavailable)
		c.retryAfter(h)
		h = c.expect(http.MethodPost, "/heartbeat", `{"service_name":"outage_a","instance_id":"outage_a-1"}`, http.StatusServiceUnavailable)
		c.retryAfter(h)
		c.expect(http.MethodDelete, "/services/outage_b/outage_b-1", "", http.StatusServiceUnavailable)
		// A service never read has nothing cached: unavailable, not absent.
		c.expect(http.MethodGet, "/services/outage_never_seen", "", http.StatusServiceUnavailable)
		c.expect(http.MethodGet, "/health", "", http.StatusOK, `"status":"degraded"`)
		time.Sleep(100 * time.Millisecond) // pacing of this loop, not a wait for another process
	}
	t.Logf("%d rounds of reads from the cache and refused writes during the outage", rounds)
	// Past STALE_CACHE_TTL the cache is too old to serve.
	poll.Eventually(t, outageStale+3*time.Second, "stale cache expires", func() error {
		return c.check(http.MethodGet, "/services/outage_a", "", http.StatusServiceUnavailable)
	})
	if age := time.Since(cachedAt); age < outageStale {
		t.Errorf("cache stopped answering after %s, before STALE_CACHE_TTL %s", age, outageStale)
	}

	if err := proxy.Enable(); err != nil {
		t.Fatalf("restore Redis: %v", err)
	}
	t.Log("Redis reachable again")
	poll.Eventually(t, 10*time.Second, "/health healthy", func() error {
		// Requests are what lets the half-open breaker probe Redis.
		_ = c.check(http.MethodGet, "/services/outage_a", "", http.StatusOK)
		return c.check(http.MethodGet, "/health", "", http.StatusOK, `"status":"healthy"`)
	})
	c.expect(http.MethodPost, "/register", register("outage_new", "new-1"), http.StatusCreated)
	c.expect(http.MethodGet, "/services/outage_new", "", http.StatusOK)
	for _, s := range services {
		c.expect(http.MethodPost, "/heartbeat", `{"service_name":"`+s+`","instance_id":"`+s+`-1"}`, http.StatusOK)
	}
	c.expect(http.MethodGet, "/services", "", http.StatusOK, `"outage_a","outage_b","outage_c","outage_new"`)
}

// redisProxy serves Toxiproxy in this process and returns a proxy to
// upstream on a loopback port. Disable refuses new connections and closes
// the open ones: Redis gone, as seen from the registry.
func redisProxy(t *testing.T, upstream string) *toxiclient.Proxy {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	api := httptest.NewServer(srv.Routes())
	t.Cleanup(api.Close)
	client := toxiclient.NewClient(api.URL)
	proxy, err := client.CreateProxy("redis", "127.0.0.1:0", upstream)
	if err != nil {
		t.Fatalf("toxiproxy: %v", err)
	}
	t.Cleanup(func() { _ = proxy.Delete() })
	return proxy
}

// startRegistry runs the wired registry in this process on env's
// configuration and returns its base URL; it stops when the test ends.
func startRegistry(t *testing.T, env map[string]string) string {
	t.Helper()
	base, stop := runRegistry(t, env)
	t.Cleanup(stop)
	return base
}

// runRegistry runs the wired registry in this process and returns its
// base URL and stop, which ends it as SIGTERM does and fails the test
// unless it shuts down cleanly; stop may be called more than once.
func runRegistry(t *testing.T, env map[string]string) (string, func()) {
	t.Helper()
	cfg, err := LoadConfig(envconf.Map(env))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.DiscardHandler), ready) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("registry: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Error("registry did not shut down")
			}
		})
	}
	select {
	case addr := <-ready:
		return "http://" + addr.String(), stop
	case err := <-done:
		t.Fatalf("registry: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("registry did not start")
	}
	return "", stop
}

func register(service, id string) string {
	return fmt.Sprintf(`{"service_name":%q,"instance_id":%q,"endpoint":"http://%s:8080","health_endpoint":"/health"}`,
		service, id, id)
}

// apiClient makes one request at a time and fails the test on a wrong
// status, a missing fragment or a request slower than hangGuard.
type apiClient struct {
	t    *testing.T
	base string
	http *http.Client
}

func (c *apiClient) do(method, path, body string) (*http.Response, string, time.Duration, error) {
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		return nil, "", 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, "", time.Since(start), err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), time.Since(start), err
}

// check returns an error describing what differs from the expectation.
func (c *apiClient) check(method, path, body string, status int, fragments ...string) error {
	_, err := c.checkResp(method, path, body, status, fragments...)
	return err
}

func (c *apiClient) checkResp(method, path, body string, status int, fragments ...string) (http.Header, error) {
	resp, got, took, err := c.do(method, path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w (after %s)", method, path, err, took)
	}
	if took > hangGuard {
		c.t.Errorf("%s %s took %s, more than %s", method, path, took, hangGuard)
	}
	if resp.StatusCode != status {
		return resp.Header, fmt.Errorf("%s %s: %d %s, want %d", method, path, resp.StatusCode, got, status)
	}
	for _, f := range fragments {
		if !strings.Contains(got, f) {
			return resp.Header, fmt.Errorf("%s %s: %s lacks %s", method, path, got, f)
		}
	}
	return resp.Header, nil
}

func (c *apiClient) expect(method, path, body string, status int, fragments ...string) http.Header {
	c.t.Helper()
	h, err := c.checkResp(method, path, body, status, fragments...)
	if err != nil {
		c.t.Fatal(err)
	}
	return h
}

// retryAfter checks a 503 says when to come back: whole seconds, at least
// one, at most the breaker's open interval rounded up.
func (c *apiClient) retryAfter(h http.Header) {
	c.t.Helper()
	n, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || n < 1 || time.Duration(n)*time.Second > outageBreakerOpen+time.Second {
		c.t.Fatalf("Retry-After %q: want 1..%d seconds", h.Get("Retry-After"), int((outageBreakerOpen+time.Second)/time.Second))
	}
}
