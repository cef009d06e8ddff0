package redisstore

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/view"
)

// reapBatch bounds the services one Reap removes ended leases from; the
// rest wait for the next round, a ReapInterval later.
const reapBatch = 256

// Reap implements ports.Reaper: every service whose earliest lease has
// ended loses its ended leases, and its index moves (removeScript in mode
// "reap"). Every replica reaps; two reaping the same service at once are
// harmless, as the script finds nothing left to do the second time. Once
// every view.ForgetEvery it also forgets old removals.
func (s *Store) Reap(ctx context.Context) error {
	now := s.clock.Now()
	qctx, cancel := context.WithTimeout(ctx, s.timeout)
	due, err := s.client.ZRangeByScore(qctx, s.leasesKey(), &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(now.UnixMicro(), 10), Count: reapBatch,
	}).Result()
	cancel()
	if err != nil {
		return unavailable("reap", err)
	}
	var errs []error
	for _, service := range due {
		if _, err := s.remove(ctx, service, "reap", ""); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.forget(ctx, now); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// forget drops the removals older than view.TombstoneTTL, at most once
// every view.ForgetEvery per store.
func (s *Store) forget(ctx context.Context, now time.Time) error {
	last := s.forgotAt.Load()
	if now.UnixNano()-last < int64(view.ForgetEvery) || !s.forgotAt.CompareAndSwap(last, now.UnixNano()) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	before := catalog.NextIndex(0, now.Add(-view.TombstoneTTL))
	err := forgetScript.Run(ctx, s.client, []string{s.removedKey(), s.sinceKey()}, before, s.channel).Err()
	return mapErr("forget", err)
}
