// Package ginapi serves the registry's HTTP API (the seed's endpoints) with gin.
package ginapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vertice/vertice/adapters/registryapi"
	"github.com/vertice/vertice/domain/registry"
)

// Health is what GET /health reports.
type Health struct {
	Status string `json:"status"`           // "healthy" or "degraded"
	Reason string `json:"reason,omitempty"` // why, when degraded
	// Notifications says, on a shared backend, whether change
	// notifications keep this replica's copy of the catalog exact ("up").
	Notifications string `json:"notifications,omitempty"`
	// Breaker is the backend breaker's state ("closed", "open",
	// "half-open"), when there is one.
	Breaker string `json:"breaker,omitempty"`
}

// Options wire the API. Zero values: no token means writes are open; nil
// Health means always healthy; nil Observer observes nothing; nil Logger
// discards request logs; nil Context never ends.
type Options struct {
	Registry *registry.Service
	// Token, when set, is required as "Authorization: Bearer <Token>" on writes.
	Token string
	// Backend names the store in /health ("memory", "redis"); Topology
	// says how Redis is reached ("single", "sentinel", "cluster"); Version
	// names the build. Empty Topology and Version are left out of /health.
	Backend  string
	Topology string
	Version  string
	Health   func(context.Context) Health
	// Observer learns of every registry operation served (metrics).
	Observer Observer
	// Tracer, when set, records a span per request (nil: none, no cost).
	Tracer Tracer
	// Metrics serves GET /metrics when set.
	Metrics http.Handler
	Logger  *slog.Logger
	// Context ends when the server stops: blocking reads then answer at
	// once, so shutting down never waits for their wait to end.
	Context context.Context
	// WriteTimeout is the server's bound on writing an answer (zero: one
	// minute); a blocking read moves its own write deadline to its wait
	// plus this.
	WriteTimeout time.Duration
	// UI, when set, serves GET and HEAD under /ui/ (the read-only web UI,
	// adapters/ui); /ui redirects there.
	UI http.Handler
}

// Observer learns what the API served, for metrics; the API itself holds
// none. Served is called once per request to an operation's route, on
// the request's goroutine, with the operation's name (Op*), the status
// answered and how long it took.
type Observer interface {
	Served(op string, code int, took time.Duration)
}

// Operation names used in metrics; routes map to them in OperationOf. A
// read that blocks (?index=) is OpWatch whatever its route: it lasts as
// long as its wait, so it must not count as a slow lookup.
const (
	OpRegister   = "register"
	OpHeartbeat  = "heartbeat"
	OpLookup     = "lookup"
	OpList       = "list"
	OpDeregister = "deregister"
	OpWatch      = "watch"
)

// OperationOf names the registry operation a matched route performs, or ""
// for routes that are not registry operations (/health, /metrics).
func OperationOf(method, route string) string {
	// Switching on method and route apart spares concatenating them on
	// every request.
	switch method {
	case http.MethodPost:
		switch route {
		case "/register":
			return OpRegister
		case "/heartbeat":
			return OpHeartbeat
		}
	case http.MethodGet:
		switch route {
		case "/services/:name":
			return OpLookup
		case "/services":
			return OpList
		case registryapi.PathChanges:
			return OpWatch
		}
	case http.MethodDelete:
		switch route {
		case "/services/:name", "/services/:name/:id":
			return OpDeregister
		}
	}
	return ""
}

type api struct {
	Options
}

// New returns the registry's HTTP handler.
func New(o Options) http.Handler {
	if o.Health == nil {
		o.Health = func(context.Context) Health { return Health{Status: "healthy"} }
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Context == nil {
		o.Context = context.Background()
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = time.Minute
	}
	a := &api{Options: o}
	r := gin.New()
	r.Use(gin.Recovery())
	if o.Tracer != nil {
		r.Use(Traced(o.Tracer))
	}
	if o.Observer != nil {
		r.Use(observe(o.Observer))
	}
	r.HandleMethodNotAllowed = true
	write := r.Group("/", a.requireToken)
	write.POST("/register", a.register)
	write.POST("/heartbeat", a.heartbeat)
	write.DELETE("/services/:name", a.deregister)
	write.DELETE("/services/:name/:id", a.deregister)
	r.GET("/services", a.list)
	r.GET("/services/:name", a.lookup)
	r.GET(registryapi.PathChanges, a.changes)
	r.GET("/health", a.health)
	r.GET("/v1/sd/prometheus", a.prometheusSD)
	if o.Metrics != nil {
		r.GET("/metrics", gin.WrapH(o.Metrics))
	}
	if o.UI != nil {
		r.GET("/ui/*path", gin.WrapH(o.UI))
		r.HEAD("/ui/*path", gin.WrapH(o.UI))
	}
	r.NoRoute(func(c *gin.Context) {
		c.JSON(http.StatusNotFound, registryapi.Error{Detail: "no such endpoint: " + c.Request.Method + " " + c.Request.URL.Path})
	})
	r.NoMethod(func(c *gin.Context) {
		c.JSON(http.StatusMethodNotAllowed, registryapi.Error{Detail: "method " + c.Request.Method + " is not allowed on " + c.Request.URL.Path})
	})
	return r
}

func init() { gin.SetMode(gin.ReleaseMode) }

// observe reports every request to an operation's route to o.
func observe(o Observer) gin.HandlerFunc {
	return func(c *gin.Context) {
		op := OperationOf(c.Request.Method, c.FullPath())
		if op == "" {
			c.Next()
			return
		}
		if _, blocking := c.GetQuery("index"); blocking && c.Request.Method == http.MethodGet {
			op = OpWatch
		}
		start := time.Now()
		c.Next()
		o.Served(op, c.Writer.Status(), time.Since(start))
	}
}

// requireToken compares in constant time so the token cannot be guessed
// byte by byte from response times.
func (a *api) requireToken(c *gin.Context) {
	if a.Token == "" {
		return
	}
	got, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(a.Token)) != 1 {
		fail(c, errUnauthorized)
	}
}

func (a *api) register(c *gin.Context) {
	var body registerBody
	if err := decode(c, &body); err != nil {
		fail(c, err)
		return
	}
	in, created, err := a.Registry.Register(c.Request.Context(), body.Registration())
	if err != nil {
		fail(c, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		a.Logger.Info("instance registered", "service", in.ServiceName, "instance_id", in.InstanceID, "endpoint", in.Endpoint)
	}
	c.JSON(status, render(in, a.Registry.Now(), true))
}

func (a *api) heartbeat(c *gin.Context) {
	var body heartbeatBody
	if err := decode(c, &body); err != nil {
		fail(c, err)
		return
	}
	list, err := a.Registry.Heartbeat(c.Request.Context(), body.ServiceName, body.InstanceID)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, render(list[0], a.Registry.Now(), true))
}

func (a *api) lookup(c *gin.Context) {
	b, done, err := a.block(c)
	if err != nil {
		fail(c, err)
		return
	}
	defer done()
	snap, err := a.Registry.Lookup(c.Request.Context(), c.Param("name"), b)
	var nf *registry.NotFoundError
	if errors.As(err, &nf) {
		setIndex(c, nf.Index) // a client may wait for the service to appear
	}
	if err != nil {
		fail(c, err)
		return
	}
	setIndex(c, snap.Index)
	c.JSON(http.StatusOK, renderLookup(snap.Instances, a.Registry.Now()))
}

func (a *api) list(c *gin.Context) {
	b, done, err := a.block(c)
	if err != nil {
		fail(c, err)
		return
	}
	defer done()
	cat, err := a.Registry.List(c.Request.Context(), b)
	if err != nil {
		fail(c, err)
		return
	}
	setIndex(c, cat.Index)
	c.JSON(http.StatusOK, cat.Names())
}

func (a *api) deregister(c *gin.Context) {
	n, err := a.Registry.Deregister(c.Request.Context(), c.Param("name"), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	a.Logger.Info("instance deregistered", "service", c.Param("name"), "instance_id", c.Param("id"), "removed", n)
	c.JSON(http.StatusOK, registryapi.Deregistered{Removed: n, ServiceName: c.Param("name")})
}

func (a *api) health(c *gin.Context) {
	h := a.Health(c.Request.Context())
	backend := a.Backend
	if backend == "" {
		backend = "memory"
	}
	c.JSON(http.StatusOK, registryapi.Health{Status: h.Status, Reason: h.Reason, Notifications: h.Notifications,
		Backend: backend, Topology: a.Topology, Breaker: h.Breaker, Version: a.Version})
}
