package resilient_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/memstore"
	"github.com/vertice/vertice/adapters/resilient"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
)

// BenchmarkService measures the decorator's own cost on a lookup (the
// breaker) over the memory store, from every core.
func BenchmarkService(b *testing.B) {
	clock := ports.SystemClock{}
	back := memstore.New(clock)
	s, err := resilient.New(back, clock, resilient.Settings{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for i := range 100 {
		in := catalog.NewInstance(catalog.Registration{ServiceName: fmt.Sprintf("svc_%d", i), InstanceID: "i0",
			Endpoint: "http://h:1", HealthEndpoint: "/health", Metadata: map[string]string{}}, clock.Now(), time.Hour)
		if _, err := s.Put(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	names := make([]string, 100)
	for i := range names {
		names[i] = fmt.Sprintf("svc_%d", i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if _, err := s.Service(ctx, names[i%100]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
