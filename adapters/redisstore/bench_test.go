package redisstore_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vertice/vertice/adapters/redisstore"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
)

// Benchmarks run against a local redis-server process on loopback when one
// is on PATH (as the registry meets Redis in production: no Docker port
// mapping in between), else against the package's Redis container: they
// measure the store plus one loopback round trip or two, not Redis alone.
// Compare runs on one machine; never assert on them.

var local struct {
	once sync.Once
	addr string
	cmd  *exec.Cmd
}

// stopLocal ends the local redis-server, if benchClient started one.
func stopLocal() {
	if local.cmd != nil {
		_ = local.cmd.Process.Kill()
		_ = local.cmd.Wait()
	}
}

// benchClient connects to the local redis-server, starting it on first use
// (it lives as long as the test binary), or to the shared container.
func benchClient(b *testing.B) redis.UniversalClient {
	b.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return newClient(b)
	}
	local.once.Do(func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return
		}
		port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		ln.Close()
		cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
		cmd.Dir = b.TempDir()
		if cmd.Start() != nil {
			return
		}
		local.cmd = cmd // TestMain stops it
		local.addr = "127.0.0.1:" + port
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if c, err := net.Dial("tcp", local.addr); err == nil {
				c.Close()
				return
			}
		}
	})
	if local.addr == "" {
		b.Fatal("local redis-server did not start")
	}
	c, err := redisstore.NewClient(redisstore.Config{URL: "redis://" + local.addr})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	return c
}

func BenchmarkPut(b *testing.B) {
	s := newStore(b, benchClient(b), ports.SystemClock{})
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// 100 instances over 10 services: replaces as well as creates.
		in := catalog.NewInstance(catalog.Registration{
			ServiceName: fmt.Sprintf("svc_%d", i%10), InstanceID: fmt.Sprintf("i%d", i%100),
			Endpoint: "http://host:8080", HealthEndpoint: "/health",
			Metadata: map[string]string{"version": "1.0.0", "status": "healthy"},
		}, time.Now(), time.Minute)
		if _, err := s.Put(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenew(b *testing.B) {
	s := newStore(b, benchClient(b), ports.SystemClock{})
	ctx := context.Background()
	seed(b, s, "svc", 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Renew(ctx, "svc", "i0"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkService reads a service of 1 and of 10 instances: one script
// (ZRANGEBYSCORE, then HMGET per instance).
func BenchmarkService(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			s := newStore(b, benchClient(b), ports.SystemClock{})
			ctx := context.Background()
			seed(b, s, "svc", n)
			b.ReportAllocs()
			for b.Loop() {
				snap, err := s.Service(ctx, "svc")
				if err != nil || len(snap.Instances) != n {
					b.Fatalf("got %d instances, %v", len(snap.Instances), err)
				}
			}
		})
	}
}

func BenchmarkCatalog(b *testing.B) {
	s := newStore(b, benchClient(b), ports.SystemClock{})
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		seed(b, s, fmt.Sprintf("svc_%d", i), 1)
	}
	b.ReportAllocs()
	for b.Loop() {
		if cat, err := s.Catalog(ctx); err != nil || len(cat.Services) != 20 {
			b.Fatalf("got %d services, %v", len(cat.Services), err)
		}
	}
}

func seed(b *testing.B, s ports.Store, service string, n int) {
	b.Helper()
	for i := 0; i < n; i++ {
		in := catalog.NewInstance(catalog.Registration{
			ServiceName: service, InstanceID: fmt.Sprintf("i%d", i), Endpoint: "http://host:8080",
		}, time.Now(), 10*time.Minute)
		if _, err := s.Put(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParallel runs each call from 50 goroutines at once, as the
// registry does under the bench:registry load (50 connections): it shows
// the client's pool and Redis's single thread under contention.
func BenchmarkParallel(b *testing.B) {
	s := newStore(b, benchClient(b), ports.SystemClock{})
	ctx := context.Background()
	seed(b, s, "svc", 1)
	for _, c := range []struct {
		name string
		call func() error
	}{
		{"Service", func() error { _, err := s.Service(ctx, "svc"); return err }},
		{"Renew", func() error { _, err := s.Renew(ctx, "svc", "i0"); return err }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(25) // × GOMAXPROCS 2 = 50 goroutines
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.call(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
