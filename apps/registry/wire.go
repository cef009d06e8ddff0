package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vertice/vertice/adapters/ginapi"
	"github.com/vertice/vertice/adapters/memstore"
	"github.com/vertice/vertice/adapters/promstats"
	"github.com/vertice/vertice/adapters/redisstore"
	"github.com/vertice/vertice/adapters/resilient"
	"github.com/vertice/vertice/domain/breaker"
	"github.com/vertice/vertice/domain/registry"
	"github.com/vertice/vertice/ports"
)

// app is the wired registry: the only place adapters meet the core.
type app struct {
	handler http.Handler
	close   func()
}

func wire(_ context.Context, cfg Config, log *slog.Logger) (*app, error) {
	clock := ports.SystemClock{}
	backend, closeBackend, err := newBackend(cfg, clock)
	if err != nil {
		return nil, err
	}
	// Every store sits behind the breaker and stale cache; on the memory
	// store it never trips, but the gauges and /health read the same way.
	store, err := resilient.New(backend, clock, resilient.Settings{
		Breaker:  breaker.Settings{Failures: cfg.BreakerFailures, OpenFor: cfg.BreakerOpen},
		StaleFor: cfg.StaleCacheTTL,
		FreshFor: cfg.LookupCacheTTL,
		Backend:  cfg.Backend(),
	})
	if err != nil {
		closeBackend()
		return nil, err
	}
	svc := registry.New(store, clock, cfg.TTL)
	reg, stats, err := newMetrics(svc, store)
	if err != nil {
		closeBackend()
		return nil, err
	}
	h := ginapi.New(ginapi.Options{
		Registry: svc,
		Token:    cfg.Token,
		Backend:  cfg.Backend(),
		Health: func(context.Context) ginapi.Health {
			status, reason := store.Health()
			return ginapi.Health{Status: status, Reason: reason}
		},
		Middleware: []gin.HandlerFunc{stats.Middleware(ginapi.OperationOf)},
		Metrics:    promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		Logger:     log,
	})
	return &app{handler: h, close: closeBackend}, nil
}

func newBackend(cfg Config, clock ports.Clock) (ports.Store, func(), error) {
	if cfg.Backend() == "memory" {
		return memstore.New(clock), func() {}, nil
	}
	client, err := redisstore.NewClient(redisstore.Config{
		URL:           cfg.RedisURL,
		SentinelAddrs: cfg.SentinelAddrs,
		MasterName:    cfg.MasterName,
		ClusterAddrs:  cfg.ClusterAddrs,
		Timeout:       cfg.RedisTimeout,
	})
	if err != nil {
		return nil, nil, err
	}
	store, err := redisstore.New(client, clock, redisstore.WithTimeout(cfg.RedisTimeout))
	if err != nil {
		client.Close()
		return nil, nil, fmt.Errorf("redis store: %w", err)
	}
	return store, func() { client.Close() }, nil
}

func newMetrics(svc *registry.Service, store *resilient.Store) (*prometheus.Registry, *promstats.Registry, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	stats, err := promstats.NewRegistry(reg, func(ctx context.Context) (int, error) {
		names, err := svc.List(ctx)
		return len(names), err
	})
	if err != nil {
		return nil, nil, err
	}
	if err := promstats.RegisterBreaker(reg, store.State); err != nil {
		return nil, nil, err
	}
	return reg, stats, nil
}
