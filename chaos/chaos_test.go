// Package chaos kills and partitions the parts of a running stack (containers built from this repository, wired
// as the compose files wire them, Toxiproxy where a link must fail) and
// checks what users were promised: a lease outlives nothing but its TTL, a
// sick instance is marked and skipped, the gateway rides over a dead
// registry, the registry over a dead Redis, and every registration comes
// back by itself once the fault heals.
//
// Timings are the cluster package's: 4 s leases, 1 s heartbeats, a 3 s
// registration backoff cap, a 2 s gateway cache and 3 s breakers. Every
// wait is a deadline-bounded poll; the bounds are stated from those
// timings with slack for a loaded 2-CPU machine.
//
// Rerun one case: go test -run 'TestChaos/SidecarKilled' ./chaos/ -v
package chaos

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/testkit/cluster"
	"github.com/vertice/vertice/internal/testkit/dockertest"
	"github.com/vertice/vertice/internal/testkit/poll"
)

func TestMain(m *testing.M) { os.Exit(dockertest.Main(m)) }

const (
	// hangGuard bounds one request while a fault is on: the stack's own
	// timeouts (REDIS_TIMEOUT 500 ms, upstream dial 1 s) are well below
	// it, so a request near it waits on something dead. Not a latency goal.
	hangGuard = 3 * time.Second
	// slack covers container scheduling on a busy machine.
	slack = 2 * time.Second
)

func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos cases start five to twelve containers each")
	}
	cases := []struct {
		name string
		run  func(*testing.T)
	}{
		{"SidecarKilled", sidecarKilled},
		{"ServiceKilled", serviceKilled},
		{"EveryRegistryReplicaKilled", everyRegistryReplicaKilled},
		{"RegistryRedisLinkSilent", registryRedisLinkSilent},
		{"SidecarRegistryLinkSilent", sidecarRegistryLinkSilent},
		{"RegistryRedisLinkSlowThenResetting", registryRedisLinkSlowThenResetting},
		{"RedisMasterKilledUnderSentinel", redisMasterKilledUnderSentinel},
		{"RegistryNotificationsLinkSilent", registryNotificationsLinkSilent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			c.run(t)
			t.Logf("%s took %s", c.name, time.Since(start).Round(100*time.Millisecond))
		})
	}
}

// 1. kill -9 the sidecar: the service keeps answering, its registration
// lasts until the lease ends (SIGKILL runs no deregistration) and a
// restarted sidecar registers it again.
func sidecarKilled(t *testing.T) {
	c := cluster.New(t)
	c.Redis()
	reg := c.Registry("registry-1", nil)
	p := c.DemoPair(1, nil)
	waitRegistered(t, reg, p)

	p.Sidecar.Kill()
	gone := poll.Eventually(t, cluster.TTL+slack, "registration expires after the TTL", func() error {
		if r, err := cluster.Get(p.Demo.URL() + "/health"); err != nil || r.Code != http.StatusOK {
			t.Fatalf("the service stopped answering directly when its sidecar died: %d %v", r.Code, err)
		}
		return wantCode(reg, http.StatusNotFound)
	})
	t.Logf("lookup 404 %s after SIGKILL (TTL %s, heartbeat %s)", ms(gone), cluster.TTL, cluster.Heartbeat)
	if early := cluster.TTL - cluster.Heartbeat - 500*time.Millisecond; gone < early {
		t.Errorf("instance gone %s after SIGKILL, before its lease could end (≥ %s): something deregistered it", gone, early)
	}

	restart := time.Now()
	p.Sidecar.Start()
	waitRegistered(t, reg, p)
	t.Logf("registered again %s after docker start of the sidecar", ms(time.Since(restart)))
}

// 2. kill the service: its sidecar marks it unhealthy, the gateway stops
// sending it traffic with a fast 502/503, and both follow it back.
func serviceKilled(t *testing.T) {
	c := cluster.New(t)
	c.Redis()
	reg := c.Registry("registry-1", nil)
	p := c.DemoPair(1, nil)
	gw := c.Gateway("gateway", nil)
	waitRegistered(t, reg, p)
	waitRouted(t, gw, p.Demo.Alias, 10*time.Second)

	p.Demo.Kill()
	killed := time.Now()
	poll.Eventually(t, cluster.CacheTTL+slack, "gateway answers 502/503", func() error {
		return gatewayRefuses(t, gw)
	})
	failing := time.Since(killed)
	waitStatus(t, reg, p, "unhealthy", 3*cluster.Heartbeat+slack)
	t.Logf("service killed: gateway 502/503 after %s, registry says unhealthy after %s", ms(failing), ms(time.Since(killed)))
	n := poll.During(t, cluster.BreakerOpen, "gateway keeps refusing fast", func() error { return gatewayRefuses(t, gw) })
	t.Logf("%d requests over %s all 502/503 under %s", n, cluster.BreakerOpen, hangGuard)

	restart := time.Now()
	p.Demo.Start()
	waitStatus(t, reg, p, "healthy", 3*cluster.Heartbeat+slack)
	healthy := time.Since(restart)
	waitRouted(t, gw, p.Demo.Alias, cluster.CacheTTL+cluster.BreakerOpen+2*slack)
	t.Logf("service back: healthy in the registry %s after docker start, routed again after %s",
		ms(healthy), ms(time.Since(restart)))
}

// 3. stop every registry replica: the gateway serves from its cache, then
// from the fallback URL with its breaker open; with the registry back the
// breaker closes and routes follow the registry again.
func everyRegistryReplicaKilled(t *testing.T) {
	c := cluster.New(t)
	c.Redis()
	regs := []*cluster.Node{c.Registry("registry-1", nil), c.Registry("registry-2", nil)}
	p := c.DemoPair(1, nil)
	fallback := c.Demo("demo-fallback")
	// The v1 gateway's 5 s cache, not the cluster's 2 s: stopping two containers
	// can take seconds on a busy machine, and the first check after it
	// needs the cache still fresh.
	const cacheTTL = 5 * time.Second
	gw := c.Gateway("gateway", map[string]string{"DEMO_SERVICE_URL": "http://demo-fallback:8080", "CACHE_TTL": cacheTTL.String()})
	waitRegistered(t, regs[0], p)
	waitRouted(t, gw, p.Demo.Alias, 10*time.Second)

	// The gateway follows the registry's change feed: its routes are
	// current until the registry goes, and CACHE_TTL runs from then.
	poll.Eventually(t, 10*time.Second, "gateway follows the registry", func() error {
		return gatewayHealth(gw, "healthy", `"routes":"following`)
	})
	for _, r := range regs {
		r.Kill()
	}
	if r, err := cluster.Route(gw.URL(), cluster.Service, "x"); err != nil || r.Code != http.StatusOK || r.Instance != p.Demo.Alias {
		t.Fatalf("right after the registry died: %d %q %v, want 200 from %s (cache)", r.Code, r.Instance, err, p.Demo.Alias)
	}
	viaFallback := poll.Eventually(t, cacheTTL+slack, "gateway routes to the fallback URL", func() error {
		return routedTo(t, gw, fallback.Alias, p.Demo.Alias)
	})
	open := poll.Eventually(t, slack, "gateway breaker open", func() error {
		if err := routedTo(t, gw, fallback.Alias); err != nil {
			t.Fatal(err)
		}
		return gatewayHealth(gw, "degraded", `"registry_breaker":"open"`)
	})
	n := poll.During(t, cluster.BreakerOpen+time.Second, "fallback routing through a half-open probe",
		func() error { return routedTo(t, gw, fallback.Alias) })
	t.Logf("registry down: cache, then fallback after %s, breaker open after %s more; %d fallback requests all 200",
		ms(viaFallback), ms(open), n)

	restart := time.Now()
	for _, r := range regs {
		r.Start()
	}
	poll.Eventually(t, cluster.BreakerOpen+cacheTTL+cluster.BackoffMax+2*slack,
		"routes follow the registry again", func() error {
			if err := routedTo(t, gw, p.Demo.Alias, fallback.Alias); err != nil {
				return err
			}
			return gatewayHealth(gw, "healthy", `"registry_breaker":"closed"`)
		})
	t.Logf("registry back: breaker closed and routing to the registered %s %s after docker start",
		p.Demo.Alias, ms(time.Since(restart)))
	poll.During(t, time.Second, "routing stays on the registered instance",
		func() error { return routedTo(t, gw, p.Demo.Alias) })
}

// 4. cut the registry from Redis: lookups of known services are served
// stale, writes are 503, /health is degraded, nothing hangs; with Redis
// back the sidecars' heartbeats restore every registration.
func registryRedisLinkSilent(t *testing.T) {
	c := cluster.New(t)
	c.Redis()
	px := c.Toxiproxy().Proxy("redis", 16379, cluster.RedisAlias+":6379")
	reg := c.Registry("registry-1", map[string]string{"REDIS_URL": "redis://" + px.Addr})
	pairs := []cluster.Pair{c.DemoPair(1, nil), c.DemoPair(2, nil)}
	waitRegistered(t, reg, pairs...) // the lookups also fill the registry's cache

	px.Silence()
	// The breaker opens after STORE_BREAKER_FAILURES (3) failed store calls,
	// each bounded by REDIS_TIMEOUT; a lookup per poll makes those calls
	// rather than waiting for the sidecars' next heartbeats.
	degraded := poll.Eventually(t, 3*cluster.RedisTimeout+slack, "/health degraded", func() error {
		if _, err := cluster.Get(reg.URL() + "/services/" + cluster.Service); err != nil {
			return err
		}
		return registryHealth(t, reg, "degraded")
	})
	// Through twice the TTL: every lease in Redis ends meanwhile.
	n := poll.During(t, 2*cluster.TTL, "registry serves reads, refuses writes, never hangs", func() error {
		if _, err := registered(reg, pairs...); err != nil {
			return fmt.Errorf("stale lookup: %w", err)
		}
		r, err := cluster.Do(http.MethodPost, reg.URL()+"/register",
			`{"service_name":"chaos_probe","endpoint":"http://probe:1","instance_id":"probe"}`)
		if err != nil || r.Code != http.StatusServiceUnavailable || r.Took > hangGuard {
			return fmt.Errorf("write during the outage: %d in %s %v, want 503 under %s", r.Code, r.Took, err, hangGuard)
		}
		return registryHealth(t, reg, "degraded")
	})
	t.Logf("Redis cut: /health degraded after %s; %d rounds over %s of stale reads and 503 writes", ms(degraded), n, 2*cluster.TTL)

	px.Heal()
	healed := time.Now()
	healthy := poll.Eventually(t, slack+time.Second, "/health healthy", func() error {
		return registryHealth(t, reg, "healthy")
	})
	restored := poll.Eventually(t, cluster.Heartbeat+cluster.BackoffMax+slack, "every registration renewed after Redis came back",
		func() error { return renewedSince(reg, healed, pairs...) })
	t.Logf("Redis back: healthy after %s, every registration renewed after %s", ms(healthy), ms(restored))
}

// 5. partition a sidecar from the registry for longer than the TTL: the
// instance expires; once healed it is back within the backoff cap.
func sidecarRegistryLinkSilent(t *testing.T) {
	c := cluster.New(t)
	c.Redis()
	reg := c.Registry("registry-1", nil)
	px := c.Toxiproxy().Proxy("registry", 18888, cluster.RegistryAlias+":8888")
	p := c.DemoPair(1, map[string]string{"REGISTRY_URL": "http://" + px.Addr})
	waitRegistered(t, reg, p)

	px.Silence()
	gone := poll.Eventually(t, cluster.TTL+slack, "instance expires", func() error {
		return wantCode(reg, http.StatusNotFound)
	})
	t.Logf("partitioned: lookup 404 after %s (TTL %s)", ms(gone), cluster.TTL)
	if early := cluster.TTL - cluster.Heartbeat - 500*time.Millisecond; gone < early {
		t.Errorf("instance gone after %s, before its lease could end (≥ %s)", gone, early)
	}

	px.Heal()
	// The sidecar retries heartbeats every HEARTBEAT_INTERVAL/2 at most, and
	// registrations every REGISTRATION_BACKOFF_MAX at most.
	back := waitRegisteredWithin(t, reg, cluster.BackoffMax+cluster.RegistryTimeout+time.Second, p)
	t.Logf("healed: registered again after %s (backoff cap %s)", ms(back), cluster.BackoffMax)
}

// 6. a slow Redis (300 ms each way back) and then one resetting half of
// its connections: heartbeats keep coming, so no lease is lost.
func registryRedisLinkSlowThenResetting(t *testing.T) {
	c := cluster.New(t)
	c.Redis()
	px := c.Toxiproxy().Proxy("redis", 16379, cluster.RedisAlias+":6379")
	reg := c.Registry("registry-1", map[string]string{"REDIS_URL": "redis://" + px.Addr, "REDIS_TIMEOUT": "1s"})
	// A heartbeat costs the registry two Redis round trips (three on a new
	// connection): 600-900 ms here. The sidecar's own deadline must allow
	// that, or it abandons heartbeats Redis then applies anyway.
	p := c.DemoPair(1, map[string]string{"REGISTRY_TIMEOUT": "3s"})
	waitRegistered(t, reg, p)
	sidecarMetrics := p.Sidecar.URL() + "/metrics"
	registrations := metric(t, sidecarMetrics, "vertice_sidecar_registrations_total")
	// Steady state first: a registry's first renewal also loads the renew
	// script into Redis (one more round trip), long done in production.
	poll.Eventually(t, 3*cluster.Heartbeat, "a first heartbeat", func() error {
		if metric(t, sidecarMetrics, "vertice_sidecar_heartbeats_total") == 0 {
			return fmt.Errorf("no heartbeat yet")
		}
		return nil
	})

	faults := []struct {
		name   string
		inject func()
	}{
		{"latency 300ms", func() { px.Latency(300) }},
		{"reset_peer on half the connections", func() { px.ResetPeer(0, 0.5) }},
	}
	for _, f := range faults {
		f.inject()
		start := time.Now()
		beats := metric(t, sidecarMetrics, "vertice_sidecar_heartbeats_total")
		failures := metric(t, sidecarMetrics, "vertice_sidecar_heartbeat_failures_total")
		n := poll.During(t, 2*cluster.TTL, "registered throughout "+f.name, func() error {
			_, err := registered(reg, p)
			return err
		})
		if err := renewedSince(reg, start, p); err != nil {
			t.Errorf("%s: no heartbeat reached Redis: %v", f.name, err)
		}
		beats = metric(t, sidecarMetrics, "vertice_sidecar_heartbeats_total") - beats
		failures = metric(t, sidecarMetrics, "vertice_sidecar_heartbeat_failures_total") - failures
		px.Heal()
		t.Logf("%s for %s: %d lookups all listed the instance; %g heartbeats answered 200, %g failed",
			f.name, 2*cluster.TTL, n, beats, failures)
		if beats == 0 {
			t.Errorf("%s: no heartbeat got through in %s", f.name, 2*cluster.TTL)
		}
	}
	if got := metric(t, sidecarMetrics, "vertice_sidecar_registrations_total"); got != registrations {
		t.Errorf("sidecar registered %g times during the faults: a heartbeat got 404, the lease was lost", got-registrations)
	}
}

// 7. kill the Redis master under Sentinel while traffic runs: the registry
// serves again after the failover, and every sidecar's instance is there
// within one heartbeat of it.
func redisMasterKilledUnderSentinel(t *testing.T) {
	set := dockertest.StartSentinelSet(t)
	c := cluster.On(t, set.Network)
	env := map[string]string{
		"REDIS_URL":            "",
		"REDIS_SENTINEL_ADDRS": strings.Join(set.NetworkSentinelAddrs(), ","),
		"REDIS_MASTER_NAME":    dockertest.MasterName,
	}
	regs := []*cluster.Node{c.Registry("registry-1", env), c.Registry("registry-2", env)}
	pairs := []cluster.Pair{c.DemoPair(1, nil), c.DemoPair(2, nil)}
	gw := c.Gateway("gateway", nil)
	waitRegistered(t, regs[0], pairs...)
	waitRouted(t, gw, "", 10*time.Second)
	set.WaitReady(t)

	traffic := startTraffic(gw)
	killed := time.Now()
	if err := set.Master.Container.Stop(t.Context(), new(time.Duration)); err != nil { // SIGKILL at once
		t.Fatalf("kill the master: %v", err)
	}
	writes := poll.Eventually(t, 30*time.Second, "registry writes after the failover", func() error {
		for _, r := range regs {
			res, err := cluster.Do(http.MethodPost, r.URL()+"/register",
				`{"service_name":"chaos_probe","endpoint":"http://probe:1","instance_id":"probe"}`)
			if err != nil || (res.Code != http.StatusOK && res.Code != http.StatusCreated) {
				return fmt.Errorf("%s: register %d %v", r.Alias, res.Code, err)
			}
		}
		return nil
	})
	renewed := poll.Eventually(t, cluster.Heartbeat+slack, "every instance renewed on the new master", func() error {
		for _, r := range regs {
			if err := renewedSince(r, killed, pairs...); err != nil {
				return fmt.Errorf("%s: %w", r.Alias, err)
			}
		}
		return nil
	})
	stats := traffic.stop()
	t.Logf("master killed: writes back after %s, every instance renewed %s later; gateway traffic: %s",
		ms(writes), ms(renewed), stats)
	if stats.hung > 0 {
		t.Errorf("%d gateway requests hung past %s during the failover", stats.hung, cluster.RequestBound)
	}
	waitRouted(t, gw, "", slack)
}
