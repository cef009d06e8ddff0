// Package ginapi serves the registry's HTTP API (the seed's endpoints) with gin.
package ginapi

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/vertice/vertice/adapters/registryapi"
	"github.com/vertice/vertice/domain/registry"
)

// Health is what GET /health reports.
type Health struct {
	Status string `json:"status"`           // "healthy" or "degraded"
	Reason string `json:"reason,omitempty"` // why, when degraded
}

// Options wire the API. Zero values: no token means writes are open; nil
// Health means always healthy; nil Middleware adds nothing; nil Logger
// discards request logs.
type Options struct {
	Registry *registry.Service
	// Token, when set, is required as "Authorization: Bearer <Token>" on writes.
	Token string
	// Backend names the store in /health ("memory", "redis").
	Backend string
	Health  func(context.Context) Health
	// Middleware runs before every handler (metrics, access logs).
	Middleware []gin.HandlerFunc
	// Metrics serves GET /metrics when set.
	Metrics http.Handler
	Logger  *slog.Logger
}

// Operation names used in metrics; routes map to them in OperationOf.
const (
	OpRegister   = "register"
	OpHeartbeat  = "heartbeat"
	OpLookup     = "lookup"
	OpList       = "list"
	OpDeregister = "deregister"
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
		}
	case http.MethodDelete:
		switch route {
		case "/services/:name", "/services/:name/:id":
			return OpDeregister
		}
	}
	return ""
}

type healthJSON struct {
	Health
	Backend string `json:"backend"`
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
	a := &api{Options: o}
	r := gin.New()
	r.Use(gin.Recovery())
	r.Use(o.Middleware...)
	r.HandleMethodNotAllowed = true
	write := r.Group("/", a.requireToken)
	write.POST("/register", a.register)
	write.POST("/heartbeat", a.heartbeat)
	write.DELETE("/services/:name", a.deregister)
	write.DELETE("/services/:name/:id", a.deregister)
	r.GET("/services", a.list)
	r.GET("/services/:name", a.lookup)
	r.GET("/health", a.health)
	r.GET("/v1/sd/prometheus", a.prometheusSD)
	if o.Metrics != nil {
		r.GET("/metrics", gin.WrapH(o.Metrics))
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
	list, err := a.Registry.Lookup(c.Request.Context(), c.Param("name"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, renderLookup(list, a.Registry.Now()))
}

func (a *api) list(c *gin.Context) {
	names, err := a.Registry.List(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	if names == nil {
		names = []string{}
	}
	c.JSON(http.StatusOK, names)
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
	c.JSON(http.StatusOK, healthJSON{Health: h, Backend: backend})
}
