package redisstore_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vertice/vertice/adapters/redisstore"
	"github.com/vertice/vertice/internal/testkit/dockertest"
	"github.com/vertice/vertice/ports"
)

// One redis-server serves the whole package (tests and benchmarks); each
// store gets its own key prefix so they never see each other's data.
var shared struct {
	once  sync.Once
	redis *dockertest.Redis
	addr  string
	err   error
}

func TestMain(m *testing.M) {
	dockertest.Configure()
	// Tests provoke refused and silent connections on purpose: keep
	// go-redis's pool from logging each one.
	redis.SetLogger(quiet{})
	code := m.Run()
	stopLocal()
	if shared.redis != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = shared.redis.Terminate(ctx)
		cancel()
	}
	os.Exit(code)
}

// redisAddr returns the shared server's host:port, starting it on first use;
// it skips or fails (under CI) when Docker is missing.
func redisAddr(tb testing.TB) string {
	tb.Helper()
	image := dockertest.RedisImage(tb)
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		shared.redis, shared.err = dockertest.RunRedis(ctx, image)
		if shared.err == nil {
			shared.addr, shared.err = shared.redis.Addr(ctx)
		}
	})
	if shared.err != nil {
		tb.Fatalf("shared redis: %v", shared.err)
	}
	return shared.addr
}

// newClient connects to the shared server the way the registry will.
func newClient(tb testing.TB) redis.UniversalClient {
	tb.Helper()
	c, err := redisstore.NewClient(redisstore.Config{URL: "redis://" + redisAddr(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

var prefixes atomic.Int64

// uniquePrefix keeps stores apart inside the shared server.
func uniquePrefix() string { return fmt.Sprintf("test%d_%d", os.Getpid(), prefixes.Add(1)) }

func newStore(tb testing.TB, client redis.UniversalClient, clock ports.Clock, opts ...redisstore.Option) *redisstore.Store {
	tb.Helper()
	s, err := redisstore.New(client, clock, append([]redisstore.Option{redisstore.WithPrefix(uniquePrefix())}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}
