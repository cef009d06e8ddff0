package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
)

// Benchmarks run against the package's Redis container through Docker's
// port mapping: they measure the store plus one loopback round trip or two,
// not Redis alone. Compare runs on one machine; never assert on them.

func BenchmarkPut(b *testing.B) {
	s := newStore(b, newClient(b), ports.SystemClock{})
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
	s := newStore(b, newClient(b), ports.SystemClock{})
	ctx := context.Background()
	seed(b, s, "svc", 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Renew(ctx, "svc", "i0"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInstances reads a service of 1 and of 10 instances: one
// ZRANGEBYSCORE plus one pipelined HGETALL per instance.
func BenchmarkInstances(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			s := newStore(b, newClient(b), ports.SystemClock{})
			ctx := context.Background()
			seed(b, s, "svc", n)
			b.ReportAllocs()
			for b.Loop() {
				list, err := s.Instances(ctx, "svc")
				if err != nil || len(list) != n {
					b.Fatalf("got %d instances, %v", len(list), err)
				}
			}
		})
	}
}

func BenchmarkServices(b *testing.B) {
	s := newStore(b, newClient(b), ports.SystemClock{})
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		seed(b, s, fmt.Sprintf("svc_%d", i), 1)
	}
	b.ReportAllocs()
	for b.Loop() {
		if names, err := s.Services(ctx); err != nil || len(names) != 20 {
			b.Fatalf("got %d services, %v", len(names), err)
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
