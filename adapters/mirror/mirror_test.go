package mirror_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/vertice/vertice/adapters/mirror"
	"github.com/vertice/vertice/adapters/redisstore"
	"github.com/vertice/vertice/adapters/resilient"
	"github.com/vertice/vertice/domain/breaker"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/internal/testkit/dockertest"
	"github.com/vertice/vertice/ports"
	"github.com/vertice/vertice/ports/portstest"
)

func TestMain(m *testing.M) {
	redis.SetLogger(quiet{}) // the cut tests refuse connections on purpose
	os.Exit(dockertest.Main(m))
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

var prefixes atomic.Int64

func uniquePrefix() string { return fmt.Sprintf("mirror%d_%d", os.Getpid(), prefixes.Add(1)) }

// replica is one registry replica's store stack: the mirror over the
// breaker over Redis, with its notifications on their own client.
type replica struct {
	*mirror.Mirror
	store *redisstore.Store
}

// newReplica builds and runs a replica on prefix, its commands sent to
// addr and its notifications to notifyAddr, and waits until it is
// coherent.
func newReplica(t *testing.T, addr, notifyAddr, prefix string, clock ports.Clock) *replica {
	t.Helper()
	return newReplicaOn(t, redisClient(t, addr), redisClient(t, notifyAddr), prefix, clock)
}

func newReplicaOn(t *testing.T, client, notifyClient redis.UniversalClient, prefix string, clock ports.Clock,
	opts ...redisstore.Option) *replica {
	t.Helper()
	opts = append([]redisstore.Option{redisstore.WithPrefix(prefix), redisstore.WithTimeout(2 * time.Second)}, opts...)
	store, err := redisstore.New(client, clock, opts...)
	if err != nil {
		t.Fatal(err)
	}
	guarded, err := resilient.New(store, clock, resilient.Settings{Breaker: breaker.Settings{Failures: 3, OpenFor: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	notifier := store.Notifier(notifyClient)
	notifier.PingEvery = 200 * time.Millisecond
	m := mirror.New(guarded, store, notifier, clock, mirror.Settings{StaleFor: 3 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, 10*time.Second, "the copy is coherent", m.Coherent)
	return &replica{Mirror: m, store: store}
}

func redisClient(t *testing.T, addr string) redis.UniversalClient {
	t.Helper()
	c, err := redisstore.NewClient(redisstore.Config{URL: "redis://" + addr, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitFor polls ok every 10 ms until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func TestContractOnRedis(t *testing.T) {
	addr := dockertest.StartRedis(t).MustAddr(t)
	portstest.RunStore(t, func(t *testing.T, clock ports.Clock) ports.Store {
		return newReplica(t, addr, addr, uniquePrefix(), clock)
	})
	portstest.RunWatcher(t, func(t *testing.T, clock ports.Clock) portstest.WatchedStore {
		return newReplica(t, addr, addr, uniquePrefix(), clock)
	})
	portstest.RunStoreLimit(t, func(t *testing.T, clock ports.Clock, maxInstances int) ports.Store {
		return newReplicaOn(t, redisClient(t, addr), redisClient(t, addr), uniquePrefix(), clock,
			redisstore.WithMaxInstances(maxInstances))
	})
}

func instance(clock ports.Clock, service, id string) catalog.Instance {
	return catalog.NewInstance(catalog.Registration{ServiceName: service, InstanceID: id,
		Endpoint: "http://" + id + ":8080", HealthEndpoint: "/health"}, clock.Now(), time.Minute)
}

// pushBound is how soon a write through one replica must wake a watcher
// on another: the promise is 100 ms; the test allows for a busy machine.
const pushBound = time.Second

// TestWriteOnOneReplicaWakesWatchersOnAnother: two replicas on one Redis,
// a single node and a Cluster. Every kind of change made through A
// reaches a watcher on B and B's lookups; a renewal through A moves B's
// lease; the end of a lease, reaped through A, wakes B's watcher.
func TestWriteOnOneReplicaWakesWatchersOnAnother(t *testing.T) {
	t.Run("single node", func(t *testing.T) {
		addr := dockertest.StartRedis(t).MustAddr(t)
		twoReplicas(t, func() redis.UniversalClient { return redisClient(t, addr) })
	})
	t.Run("cluster", func(t *testing.T) {
		addr := dockertest.StartRedisCluster(t)
		twoReplicas(t, func() redis.UniversalClient {
			c, err := redisstore.NewClient(redisstore.Config{ClusterAddrs: []string{addr}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			return c
		})
	})
}

func twoReplicas(t *testing.T, client func() redis.UniversalClient) {
	clock := portstest.NewFakeClock(time.Now().Truncate(time.Millisecond))
	prefix := uniquePrefix()
	a := newReplicaOn(t, client(), client(), prefix, clock)
	b := newReplicaOn(t, client(), client(), prefix, clock)
	ctx := context.Background()

	changes := []struct {
		what  string
		write func() error
		want  int // instances B must then see
	}{
		{"register", func() error { _, err := a.Put(ctx, instance(clock, "svc", "x")); return err }, 1},
		{"second instance", func() error { _, err := a.Put(ctx, instance(clock, "svc", "y")); return err }, 2},
		{"deregister", func() error { _, err := a.Delete(ctx, "svc", "x"); return err }, 1},
	}
	for _, c := range changes {
		clock.Advance(time.Millisecond)
		snap, err := b.Service(ctx, "svc")
		if err != nil {
			t.Fatal(err)
		}
		woken, release := b.WaitService("svc", snap.Index)
		start := time.Now()
		if err := c.write(); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		select {
		case <-woken:
			t.Logf("%s through A woke a watcher on B after %s", c.what, time.Since(start))
		case <-time.After(pushBound):
			t.Fatalf("%s through A: B's watcher not woken within %s", c.what, pushBound)
		}
		release()
		if got, _ := b.Service(ctx, "svc"); len(got.Instances) != c.want {
			t.Fatalf("%s: B sees %d instances, want %d", c.what, len(got.Instances), c.want)
		}
	}

	clock.Advance(30 * time.Second)
	renewed, err := a.Renew(ctx, "svc", "y")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, pushBound, "B sees the renewal's last heartbeat", func() bool {
		got, _ := b.Service(ctx, "svc")
		return len(got.Instances) == 1 && got.Instances[0].LastHeartbeat.Equal(renewed.LastHeartbeat)
	})

	// The lease ends; A's reaper removes it; B's watcher wakes.
	snap, _ := b.Service(ctx, "svc")
	woken, release := b.WaitService("svc", snap.Index)
	defer release()
	clock.Advance(time.Minute + time.Millisecond)
	if err := a.Reap(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-woken:
	case <-time.After(pushBound):
		t.Fatalf("expiry reaped through A: B's watcher not woken within %s", pushBound)
	}
	if got, _ := b.Catalog(ctx); len(got.Services) != 0 || len(got.Removed) != 1 {
		t.Fatalf("after expiry B lists %v, removed %v", got.Services, got.Removed)
	}
}

// cutter is an in-process Toxiproxy in front of Redis.
type cutter struct {
	*toxiclient.Proxy
}

func newCutter(t *testing.T, upstream string) *cutter {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	api := httptest.NewServer(srv.Routes())
	t.Cleanup(api.Close)
	p, err := toxiclient.NewClient(api.URL).CreateProxy("redis", "127.0.0.1:0", upstream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Delete() })
	return &cutter{Proxy: p}
}

// silence makes the link a black hole both ways, as a partition does.
func (c *cutter) silence(t *testing.T) {
	t.Helper()
	for _, stream := range []string{"upstream", "downstream"} {
		if _, err := c.AddToxic("silence_"+stream, "timeout", stream, 1.0, toxiclient.Attributes{"timeout": 0}); err != nil {
			t.Fatal(err)
		}
	}
}

func (c *cutter) heal(t *testing.T) {
	t.Helper()
	for _, stream := range []string{"upstream", "downstream"} {
		if err := c.RemoveToxic("silence_" + stream); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCutNotificationsFallBackToTheStore: B's notifications go through a
// proxy that the test silences. Once B notices, its reads go to Redis and
// show A's writes; after healing, B is coherent again and a watcher that
// waited through the cut sees the final state.
func TestCutNotificationsFallBackToTheStore(t *testing.T) {
	addr := dockertest.StartRedis(t).MustAddr(t)
	cut := newCutter(t, addr)
	clock := ports.SystemClock{}
	prefix := uniquePrefix()
	a := newReplica(t, addr, addr, prefix, clock)
	b := newReplica(t, addr, cut.Listen, prefix, clock)
	ctx := context.Background()
	if _, err := a.Put(ctx, instance(clock, "svc", "x")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, pushBound, "B sees x", func() bool { got, _ := b.Service(ctx, "svc"); return got.Found() })
	snap, _ := b.Service(ctx, "svc")
	woken, release := b.WaitService("svc", snap.Index)
	defer release()

	cut.silence(t)
	took := waitFor(t, 5*time.Second, "B notices the cut", func() bool { return !b.Coherent() })
	t.Logf("B noticed the silent subscription after %s", took)
	if _, err := a.Put(ctx, instance(clock, "svc", "y")); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Service(ctx, "svc"); err != nil || len(got.Instances) != 2 {
		t.Fatalf("while cut, B must read Redis: got %d instances, %v", len(got.Instances), err)
	}
	if _, err := a.Delete(ctx, "svc", "x"); err != nil {
		t.Fatal(err)
	}

	cut.heal(t)
	select {
	case <-woken:
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher that waited through the cut was not woken after healing")
	}
	waitFor(t, 10*time.Second, "B coherent again", b.Coherent)
	got, err := b.Service(ctx, "svc")
	if err != nil || len(got.Instances) != 1 || got.Instances[0].InstanceID != "y" {
		t.Fatalf("after healing B sees %v, %v; want only y", got.Instances, err)
	}
}

// TestStaleCopyWhileRedisIsUnreachable: with Redis cut off entirely, the
// copy answers reads as it was when it was lost, for StaleFor; then reads
// fail as unavailable. A service it never held is unavailable at once.
func TestStaleCopyWhileRedisIsUnreachable(t *testing.T) {
	addr := dockertest.StartRedis(t).MustAddr(t)
	cut := newCutter(t, addr)
	clock := ports.SystemClock{}
	r := newReplica(t, cut.Listen, cut.Listen, uniquePrefix(), clock)
	ctx := context.Background()
	for _, id := range []string{"x", "y"} {
		if _, err := r.Put(ctx, instance(clock, "svc", id)); err != nil {
			t.Fatal(err)
		}
	}
	// On a busy machine pings can miss before the cut, and the copy's loss
	// then dates from then: the bound below is from a coherent copy's loss.
	waitFor(t, 10*time.Second, "the copy is coherent before the cut", r.Coherent)
	lost := time.Now()
	if err := cut.Disable(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the copy notices", func() bool { return !r.Coherent() })
	got, err := r.Service(ctx, "svc")
	if err != nil || len(got.Instances) != 2 {
		t.Fatalf("stale read: %d instances, %v", len(got.Instances), err)
	}
	if cat, err := r.Catalog(ctx); err != nil || len(cat.Services) != 1 {
		t.Fatalf("stale catalog: %v, %v", cat.Services, err)
	}
	if _, err := r.Service(ctx, "never_held"); err == nil {
		t.Fatal("a service the copy never held must be unavailable, not absent")
	}
	waitFor(t, 10*time.Second, "stale reads stop", func() bool {
		_, err := r.Service(ctx, "svc")
		return err != nil
	})
	if age := time.Since(lost); age < 3*time.Second {
		t.Fatalf("stale reads stopped %s after the loss, before StaleFor", age)
	}
}

// silentNotifier never subscribes: a copy fed by it never loads.
type silentNotifier struct{}

func (silentNotifier) Listen(ctx context.Context, _ ports.Listener) { <-ctx.Done() }

// TestReadsBeforeTheFirstLoadStandInForAnOutage: a replica whose copy has
// not loaded yet reads Redis; if Redis then goes away, what it read
// answers for StaleFor.
func TestReadsBeforeTheFirstLoadStandInForAnOutage(t *testing.T) {
	addr := dockertest.StartRedis(t).MustAddr(t)
	cut := newCutter(t, addr)
	clock := ports.SystemClock{}
	store, err := redisstore.New(redisClient(t, cut.Listen), clock, redisstore.WithPrefix(uniquePrefix()),
		redisstore.WithTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	guarded, err := resilient.New(store, clock, resilient.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	m := mirror.New(guarded, store, silentNotifier{}, clock, mirror.Settings{StaleFor: time.Minute})
	ctx := context.Background()
	if _, err := m.Put(ctx, instance(clock, "svc", "x")); err != nil {
		t.Fatal(err)
	}
	if got, err := m.Service(ctx, "svc"); err != nil || !got.Found() {
		t.Fatalf("read through to Redis: %v, %v", got, err)
	}
	if err := cut.Disable(); err != nil {
		t.Fatal(err)
	}
	if got, err := m.Service(ctx, "svc"); err != nil || len(got.Instances) != 1 {
		t.Fatalf("Redis gone before the first load: want the last read, got %v, %v", got.Instances, err)
	}
}
