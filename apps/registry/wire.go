package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/vertice/vertice/adapters/consulapi"
	"github.com/vertice/vertice/adapters/ginapi"
	"github.com/vertice/vertice/adapters/memstore"
	"github.com/vertice/vertice/adapters/mirror"
	"github.com/vertice/vertice/adapters/promstats"
	"github.com/vertice/vertice/adapters/redisstore"
	"github.com/vertice/vertice/adapters/registryapi"
	"github.com/vertice/vertice/adapters/resilient"
	"github.com/vertice/vertice/adapters/tracing"
	"github.com/vertice/vertice/adapters/ui"
	"github.com/vertice/vertice/domain/breaker"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/registry"
	"github.com/vertice/vertice/internal/serve/version"
	"github.com/vertice/vertice/ports"
)

// app is the wired registry: the only place adapters meet the core.
type app struct {
	handler http.Handler
	// background runs until ctx ends: the reaper, and on Redis the copy of
	// the catalog following change notifications.
	background func(ctx context.Context)
	close      func()
}

// stores is the store stack of one backend.
type stores struct {
	store   ports.Store   // what the use cases call
	watch   ports.Watcher // what blocking reads wait on
	reaper  ports.Reaper  // run every ports.ReapInterval
	guarded *resilient.Store
	copy    *mirror.Mirror // nil on the memory store
	close   func()
}

func wire(ctx context.Context, cfg Config, log *slog.Logger) (*app, error) {
	tp, stopTracing, err := tracing.Setup(ctx, cfg.Tracing, "vertice-registry", log)
	if err != nil {
		return nil, err
	}
	a, err := wireTraced(ctx, cfg, log, tp)
	if err != nil {
		stopTracing()
		return nil, err
	}
	closeStores := a.close
	a.close = func() { closeStores(); stopTracing() }
	return a, nil
}

// wireTraced wires the registry with its spans going to tp (nil: no
// tracing at all).
func wireTraced(ctx context.Context, cfg Config, log *slog.Logger, tp trace.TracerProvider) (*app, error) {
	clock := ports.SystemClock{}
	st, err := newStores(cfg, clock, log)
	if err != nil {
		return nil, err
	}
	svc := registry.New(st.store, st.watch, clock, cfg.TTL,
		registry.WithLimits(catalog.Limits{MetadataBytes: cfg.MaxMetadataBytes}))
	reg, stats, err := newMetrics(svc, st.guarded)
	if err != nil {
		st.close()
		return nil, err
	}
	var tracer ginapi.Tracer
	if tp != nil {
		tracer = tracing.NewServer(tp)
	}
	native := ginapi.New(ginapi.Options{
		Tracer:   tracer,
		Registry: svc,
		Token:    cfg.Token,
		Backend:  cfg.Backend(),
		Topology: cfg.Topology(),
		Version:  version.String(),
		Health:   func(context.Context) ginapi.Health { return health(st) },
		UI: ui.New(ui.Options{Registry: svc, Logger: log, Health: func(context.Context) registryapi.Health {
			return replica(cfg, health(st))
		}}),
		Observer: stats,
		Metrics:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		Logger:   log,
		Context:  ctx,
		// A blocking read's answer is written after its wait: its write
		// deadline moves past the wait by the usual write timeout.
		WriteTimeout: cfg.HTTP.WriteTimeout,
	})
	// Consul's API beside the native one (docs/consul.md).
	consul := consulapi.New(consulapi.Options{Registry: svc, Token: cfg.Token, Datacenter: cfg.Datacenter,
		NodeName: cfg.NodeName, Observer: stats, Tracer: tracer, Logger: log, Context: ctx, WriteTimeout: cfg.HTTP.WriteTimeout})
	h := consulapi.Beside(native, consul)
	return &app{handler: h, background: st.run(log), close: st.close}, nil
}

func newStores(cfg Config, clock ports.Clock, log *slog.Logger) (*stores, error) {
	settings := resilient.Settings{
		Breaker: breaker.Settings{Failures: cfg.BreakerFailures, OpenFor: cfg.BreakerOpen},
		Backend: cfg.Backend(),
	}
	if cfg.Backend() == "memory" {
		mem := memstore.New(clock, memstore.WithMaxInstances(cfg.MaxInstancesPerService))
		// The memory store never fails, but the breaker's gauges and
		// /health read the same on every backend.
		guarded, err := resilient.New(mem, clock, settings)
		if err != nil {
			return nil, err
		}
		return &stores{store: guarded, watch: mem, reaper: guarded, guarded: guarded, close: func() {}}, nil
	}
	return newRedisStores(cfg, clock, settings, log)
}

// newRedisStores stacks the replica's copy of the catalog on the breaker on
// Redis: lookups and blocking reads are answered from the copy, writes go
// through the breaker, and the copy follows every replica's writes through
// Redis's notifications.
func newRedisStores(cfg Config, clock ports.Clock, settings resilient.Settings, log *slog.Logger) (*stores, error) {
	client, err := redisClient(cfg, cfg.RedisURL)
	if err != nil {
		return nil, err
	}
	notifyClient := client
	if cfg.RedisNotifyURL != "" {
		if notifyClient, err = redisClient(cfg, cfg.RedisNotifyURL); err != nil {
			client.Close()
			return nil, err
		}
	}
	closeAll := func() {
		client.Close()
		if notifyClient != client {
			notifyClient.Close()
		}
	}
	raw, err := redisstore.New(client, clock, redisstore.WithTimeout(cfg.RedisTimeout),
		redisstore.WithMaxInstances(cfg.MaxInstancesPerService))
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("redis store: %w", err)
	}
	guarded, err := resilient.New(raw, clock, settings)
	if err != nil {
		closeAll()
		return nil, err
	}
	copy := mirror.New(guarded, raw, raw.Notifier(notifyClient), clock, mirror.Settings{
		StaleFor: cfg.StaleCacheTTL, Logger: log,
	})
	return &stores{store: copy, watch: copy, reaper: guarded, guarded: guarded, copy: copy, close: closeAll}, nil
}

func redisClient(cfg Config, url string) (redis.UniversalClient, error) {
	return redisstore.NewClient(redisstore.Config{
		URL:           url,
		SentinelAddrs: cfg.SentinelAddrs,
		MasterName:    cfg.MasterName,
		ClusterAddrs:  cfg.ClusterAddrs,
		Timeout:       cfg.RedisTimeout,
	})
}

// run returns the background work of the stack.
func (st *stores) run(log *slog.Logger) func(ctx context.Context) {
	return func(ctx context.Context) {
		var wg sync.WaitGroup
		if st.copy != nil {
			wg.Go(func() { st.copy.Run(ctx) })
		}
		wg.Go(func() { reap(ctx, st.reaper, log) })
		wg.Wait()
	}
}

// reap removes ended leases every ports.ReapInterval, so that expiry
// wakes watchers like any other change. Failures are logged once per
// run of them: the breaker already tells the story of an outage.
func reap(ctx context.Context, r ports.Reaper, log *slog.Logger) {
	tick := time.NewTicker(ports.ReapInterval)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := r.Reap(ctx)
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			log.Warn("reaping ended leases failed; retrying every interval", "error", err.Error())
		case err == nil && failing:
			log.Info("reaping ended leases again")
		}
		failing = err != nil
	}
}

// health is GET /health: the breaker's view, and on Redis whether change
// notifications keep this replica's copy of the catalog exact.
func health(st *stores) ginapi.Health {
	status, reason := st.guarded.Health()
	h := ginapi.Health{Status: status, Reason: reason, Breaker: st.guarded.State().String()}
	if st.copy != nil {
		h.Notifications = "up"
		if !st.copy.Coherent() {
			h.Notifications = "down: reads go to Redis"
		}
	}
	return h
}

// replica is what the web UI's replica panel shows: /health's answer.
func replica(cfg Config, h ginapi.Health) registryapi.Health {
	return registryapi.Health{Status: h.Status, Reason: h.Reason, Notifications: h.Notifications,
		Backend: cfg.Backend(), Topology: cfg.Topology(), Breaker: h.Breaker, Version: version.String()}
}

func newMetrics(svc *registry.Service, store *resilient.Store) (*prometheus.Registry, *promstats.Registry, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	stats, err := promstats.NewRegistry(reg, func(ctx context.Context) (int, error) {
		cat, err := svc.List(ctx, registry.Block{})
		return len(cat.Services), err
	})
	if err != nil {
		return nil, nil, err
	}
	if err := promstats.RegisterBreaker(reg, store.State); err != nil {
		return nil, nil, err
	}
	return reg, stats, nil
}
