package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vertice/vertice/adapters/redisstore"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/internal/testkit/dockertest"
	"github.com/vertice/vertice/ports"
	"github.com/vertice/vertice/ports/portstest"
)

func TestStoreContract(t *testing.T) {
	client := newClient(t)
	portstest.RunStore(t, func(t *testing.T, clock ports.Clock) ports.Store {
		return newStore(t, client, clock)
	})
	portstest.RunStoreLimit(t, func(t *testing.T, clock ports.Clock, maxInstances int) ports.Store {
		return newStore(t, client, clock, redisstore.WithMaxInstances(maxInstances))
	})
}

const ttl = 60 * time.Second

func instance(clock ports.Clock, service, id string) catalog.Instance {
	return catalog.NewInstance(catalog.Registration{
		ServiceName: service, InstanceID: id, Endpoint: "http://" + id + ":8080", HealthEndpoint: "/health",
	}, clock.Now(), ttl)
}

// TestKeysExpireInRedis checks that Redis itself holds the lease (so every
// replica sees one truth) and that every key of a service shares a hash tag.
func TestKeysExpireInRedis(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	clock := portstest.NewFakeClock(time.Now())
	s := newStore(t, client, clock, redisstore.WithPrefix("ttlcheck_"+uniquePrefix()))
	if _, err := s.Put(ctx, instance(clock, "nmap_service", "a:1")); err != nil {
		t.Fatal(err)
	}
	keys, err := client.Keys(ctx, "ttlcheck_*").Result() // fine in a test, never in the store
	if err != nil {
		t.Fatal(err)
	}
	// instance hash, ids zset and index of the service; services, leases,
	// catalog index and sequence of the catalog.
	if len(keys) != 7 {
		t.Fatalf("want 3 service keys and 4 catalog keys, got %q", keys)
	}
	for _, k := range keys {
		pttl := client.PTTL(ctx, k).Val()
		switch {
		case strings.Contains(k, "{catalog}"):
			if pttl >= 0 {
				t.Errorf("catalog key %s should not expire (pruned by score), PTTL %v", k, pttl)
			}
		case !strings.Contains(k, "{nmap_service}"):
			t.Errorf("%s lacks the service hash tag", k)
		case strings.HasSuffix(k, ":v"):
			if pttl >= 0 {
				t.Errorf("a live service's index %s must not expire, PTTL %v", k, pttl)
			}
		case strings.HasSuffix(k, ":ids"):
			// The ids outlive the latest lease by a grace period, so the
			// reaper always finds the ended leases there.
			if pttl <= ttl || pttl > ttl+11*time.Minute {
				t.Errorf("%s: PTTL %v, want a little over %v", k, pttl, ttl)
			}
		case pttl <= ttl-5*time.Second || pttl > ttl:
			t.Errorf("%s: PTTL %v, want about %v", k, pttl, ttl)
		}
	}
}

// TestRenewResetsRedisTTL: a renewed lease must also live longer in Redis,
// or the key would vanish under a healthy, heartbeating instance.
func TestRenewResetsRedisTTL(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	clock := portstest.NewFakeClock(time.Now())
	prefix := "renewttl_" + uniquePrefix()
	s := newStore(t, client, clock, redisstore.WithPrefix(prefix))
	short := instance(clock, "svc", "a")
	short.TTL = 2 * time.Second
	if _, err := s.Put(ctx, short); err != nil {
		t.Fatal(err)
	}
	key := prefix + ":{svc}:i:a"
	if p := client.PTTL(ctx, key).Val(); p > 2*time.Second || p <= 0 {
		t.Fatalf("PTTL after put %v, want ≤ 2s", p)
	}
	// Renew at the same Redis instant: PEXPIRE restarts at the full TTL.
	if _, err := s.Renew(ctx, "svc", "a"); err != nil {
		t.Fatal(err)
	}
	if p := client.PTTL(ctx, key).Val(); p < 1500*time.Millisecond {
		t.Fatalf("PTTL after renew %v, want close to 2s", p)
	}
}

// TestServicesForgetsDeleted: Delete cannot lower the services index's
// score (it lives in another slot), so listing must confirm each name.
func TestServicesForgetsDeleted(t *testing.T) {
	ctx := context.Background()
	clock := portstest.NewFakeClock(time.Now())
	s := newStore(t, newClient(t), clock)
	for _, name := range []string{"a_service", "b_service"} {
		if _, err := s.Put(ctx, instance(clock, name, "x")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Delete(ctx, "a_service", ""); err != nil {
		t.Fatal(err)
	}
	cat, err := s.Catalog(ctx)
	if err != nil || fmt.Sprint(cat.Names()) != "[b_service]" {
		t.Fatalf("Catalog() = %v, %v; want [b_service]", cat.Names(), err)
	}
}

// TestServicesIndexHealsOnRenew: if the separate index update was lost
// (a failure between the two calls), the next heartbeat lists it again.
func TestServicesIndexHealsOnRenew(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	clock := portstest.NewFakeClock(time.Now())
	prefix := "heal_" + uniquePrefix()
	s := newStore(t, client, clock, redisstore.WithPrefix(prefix))
	if _, err := s.Put(ctx, instance(clock, "svc", "a")); err != nil {
		t.Fatal(err)
	}
	client.ZRem(ctx, prefix+":{catalog}:services", "svc")
	clock.Advance(time.Second)
	if _, err := s.Renew(ctx, "svc", "a"); err != nil {
		t.Fatal(err)
	}
	if cat, err := s.Catalog(ctx); err != nil || len(cat.Services) != 1 {
		t.Fatalf("Catalog() = %v, %v; want [svc]", cat.Names(), err)
	}
}

// TestUnreachableIsUnavailable needs no Docker: a refused connection must
// surface as ports.ErrUnavailable from every method, cause kept.
func TestUnreachableIsUnavailable(t *testing.T) {
	addr := closedAddr(t)
	c, err := redisstore.NewClient(redisstore.Config{URL: "redis://" + addr, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	assertAllUnavailable(t, c, time.Second, "connection refused")
}

// TestSilentRedisIsBounded: a server that accepts and never answers (a
// partition, a frozen node) must not hold a call past the store's timeout.
func TestSilentRedisIsBounded(t *testing.T) {
	c := silentRedisClient(t)
	// The client's own timeout (5s) is long on purpose: the store's 100ms
	// bound must win, with room for a loaded CI machine.
	assertAllUnavailable(t, c, time.Second, "deadline exceeded", redisstore.WithTimeout(100*time.Millisecond))
}

// silentRedisClient is a client of a server that accepts connections and
// never answers. Its own timeout (5s) is long on purpose: the store's
// bound must win. Closed at the end of the test.
func silentRedisClient(t *testing.T) redis.UniversalClient {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go swallow(ln)
	c, err := redisstore.NewClient(redisstore.Config{URL: "redis://" + ln.Addr().String(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func assertAllUnavailable(t *testing.T, c redis.UniversalClient, bound time.Duration, want string, opts ...redisstore.Option) {
	t.Helper()
	ctx := context.Background()
	clock := portstest.NewFakeClock(time.Now())
	s, err := redisstore.New(c, clock, opts...)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"Put":     func() error { _, err := s.Put(ctx, instance(clock, "svc", "a")); return err },
		"Renew":   func() error { _, err := s.Renew(ctx, "svc", "a"); return err },
		"Service": func() error { _, err := s.Service(ctx, "svc"); return err },
		"Catalog": func() error { _, err := s.Catalog(ctx); return err },
		"Delete":  func() error { _, err := s.Delete(ctx, "svc", ""); return err },
		"Reap":    func() error { return s.Reap(ctx) },
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		took := time.Since(start)
		if !errors.Is(err, ports.ErrUnavailable) || errors.Is(err, ports.ErrNotFound) {
			t.Errorf("%s: want ErrUnavailable, got %v", name, err)
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: cause %q dropped from %v", name, want, err)
		}
		if took > bound {
			t.Errorf("%s took %v, bound %v", name, took, bound)
		}
	}
}

// closedAddr returns an address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// swallow accepts connections and reads them without ever answering.
func swallow(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			buf := make([]byte, 4096)
			for {
				if _, err := conn.Read(buf); err != nil {
					return
				}
			}
		}()
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  redisstore.Config
		want string // substring of the error; empty means valid
	}{
		{"url", redisstore.Config{URL: "redis://localhost:6379/0"}, ""},
		{"sentinel", redisstore.Config{SentinelAddrs: []string{"s1:26379"}, MasterName: "mymaster"}, ""},
		{"cluster", redisstore.Config{ClusterAddrs: []string{"c1:6379", "c2:6379"}}, ""},
		{"none", redisstore.Config{}, "set one of"},
		{"two", redisstore.Config{URL: "redis://x:1", ClusterAddrs: []string{"c:1"}}, "only one"},
		{"no master", redisstore.Config{SentinelAddrs: []string{"s1:26379"}}, "REDIS_MASTER_NAME"},
		{"bad url", redisstore.Config{URL: "http://x"}, "REDIS_URL"},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: Validate() = %v, want %q", c.name, err, c.want)
		}
	}
}

func TestNewClientPicksMode(t *testing.T) {
	cases := []struct {
		cfg     redisstore.Config
		cluster bool
	}{
		{redisstore.Config{URL: "redis://localhost:6379"}, false},
		{redisstore.Config{SentinelAddrs: []string{"localhost:26379"}, MasterName: "m"}, false},
		// One seed address must still mean Cluster, unlike NewUniversalClient's guess.
		{redisstore.Config{ClusterAddrs: []string{"localhost:7000"}}, true},
	}
	for _, c := range cases {
		client, err := redisstore.NewClient(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, isCluster := client.(*redis.ClusterClient)
		if isCluster != c.cluster {
			t.Errorf("%+v: got %T", c.cfg, client)
		}
		client.Close()
	}
}

func TestPrefixWithBraceRejected(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "localhost:1"})
	defer c.Close()
	if _, err := redisstore.New(c, ports.SystemClock{}, redisstore.WithPrefix("v{x}")); err == nil {
		t.Fatal("a brace in the prefix would break the per-service hash tag")
	}
}

// TestStoreContractOnCluster runs the contract on a Redis Cluster through a
// ClusterClient: any command or script whose keys span two slots fails
// there with CROSSSLOT, so this proves the key layout.
func TestStoreContractOnCluster(t *testing.T) {
	addr := dockertest.StartRedisCluster(t)
	client, err := redisstore.NewClient(redisstore.Config{ClusterAddrs: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	// The guard this test relies on: keys of two slots are refused.
	plain := redis.NewClient(&redis.Options{Addr: addr})
	defer plain.Close()
	if err := plain.MSet(context.Background(), "a", "1", "b", "2").Err(); err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("cluster does not enforce slots (MSET a b: %v)", err)
	}
	portstest.RunStore(t, func(t *testing.T, clock ports.Clock) ports.Store {
		return newStore(t, client, clock)
	})
	portstest.RunStoreLimit(t, func(t *testing.T, clock ports.Clock, maxInstances int) ports.Store {
		return newStore(t, client, clock, redisstore.WithMaxInstances(maxInstances))
	})
}
