package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/redisstore"
	"github.com/vertice/vertice/ports"
	"github.com/vertice/vertice/ports/portstest"
)

// TestConcurrentCallsGetTheirOwnAnswers runs many calls at once, so most
// of them share pipelines, and checks each got the answer to its own call.
func TestConcurrentCallsGetTheirOwnAnswers(t *testing.T) {
	clock := portstest.NewFakeClock(time.Now())
	s := newStore(t, newClient(t), clock)
	ctx := context.Background()
	const workers, rounds = 40, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			service := fmt.Sprintf("svc_%d", w)
			for r := range rounds {
				id := fmt.Sprintf("i%d", r%3)
				if _, err := s.Put(ctx, instance(clock, service, id)); err != nil {
					errs <- fmt.Errorf("%s put: %w", service, err)
					return
				}
				in, err := s.Renew(ctx, service, id)
				if err != nil || in.ServiceName != service || in.InstanceID != id {
					errs <- fmt.Errorf("%s renew %s: got %s/%s, %v", service, id, in.ServiceName, in.InstanceID, err)
					return
				}
				snap, err := s.Service(ctx, service)
				if err != nil || len(snap.Instances) != min(r+1, 3) {
					errs <- fmt.Errorf("%s round %d: %d instances, %v", service, r, len(snap.Instances), err)
					return
				}
				for _, in := range snap.Instances {
					if in.ServiceName != service {
						errs <- fmt.Errorf("%s got an instance of %s", service, in.ServiceName)
						return
					}
				}
				if absent, err := s.Service(ctx, service+"_absent"); err != nil || absent.Found() {
					errs <- fmt.Errorf("%s_absent: want no instances, got %d, %v", service, len(absent.Instances), err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestConcurrentCallsOnSilentRedisAreBounded: calls queued behind a batch
// that Redis never answers still end at the store's timeout.
func TestConcurrentCallsOnSilentRedisAreBounded(t *testing.T) {
	s, err := redisstore.New(silentRedisClient(t), portstest.NewFakeClock(time.Now()), redisstore.WithTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			start := time.Now()
			_, err := s.Service(context.Background(), fmt.Sprintf("svc_%d", i))
			if took := time.Since(start); took > time.Second {
				t.Errorf("call %d took %s", i, took)
			}
			if !errors.Is(err, ports.ErrUnavailable) {
				t.Errorf("call %d: want ErrUnavailable, got %v", i, err)
			}
		})
	}
	wg.Wait()
}
