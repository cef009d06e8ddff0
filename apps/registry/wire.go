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
	if cfg.Backend() != "memory" {
		return nil, fmt.Errorf("REDIS_URL: the Redis store is not available in this build")
	}
	var store ports.Store = memstore.New(clock)
	svc := registry.New(store, clock, cfg.TTL)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	stats, err := promstats.NewRegistry(reg, func(ctx context.Context) (int, error) {
		names, err := svc.List(ctx)
		return len(names), err
	})
	if err != nil {
		return nil, err
	}
	h := ginapi.New(ginapi.Options{
		Registry:   svc,
		Token:      cfg.Token,
		Backend:    cfg.Backend(),
		Middleware: []gin.HandlerFunc{stats.Middleware(ginapi.OperationOf)},
		Metrics:    promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		Logger:     log,
	})
	return &app{handler: h, close: func() {}}, nil
}
