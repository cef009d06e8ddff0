// Package consulapi serves the part of Consul's HTTP API that service
// discovery clients use (Prometheus's consul_sd_configs, Traefik's
// consulCatalog provider, the hashicorp/consul/api Go client and its
// watch plans), over the registry's use cases: the same catalog, indexes
// and blocking reads as the native API (adapters/ginapi), in Consul's
// shapes. docs/consul.md maps every field and lists what is supported.
package consulapi

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vertice/vertice/adapters/ginapi"
	"github.com/vertice/vertice/adapters/registryapi"
	"github.com/vertice/vertice/domain/registry"
)

// Options wire the API. Zero values: no token means writes are open; an
// empty Datacenter is DefaultDatacenter and an empty NodeName
// DefaultNodeName; nil Observer observes nothing; nil Logger discards;
// nil Context never ends; zero WriteTimeout is one minute.
type Options struct {
	Registry *registry.Service
	// Token, when set, is required on writes, as X-Consul-Token or
	// "Authorization: Bearer <Token>".
	Token string
	// Datacenter is the one datacenter this registry is (agent/self, every
	// node); queries for another are refused.
	Datacenter string
	// NodeName is the agent's name in agent/self.
	NodeName string
	// Observer learns of every registry operation served, with the native
	// API's operation names, so dashboards count both APIs alike.
	Observer ginapi.Observer
	// Tracer, when set, records a span per request, as on the native API.
	Tracer ginapi.Tracer
	Logger *slog.Logger
	// Context ends when the server stops: blocking reads then answer at
	// once.
	Context context.Context
	// WriteTimeout is the server's bound on writing an answer; a blocking
	// read moves its own write deadline to its wait plus this.
	WriteTimeout time.Duration
}

// Defaults of Options.
const (
	DefaultDatacenter = "dc1"
	DefaultNodeName   = "vertice"
)

type api struct {
	Options
	ids *idCache
}

// New returns the Consul API's handler. It answers every path under the
// prefixes Claims names: what it does not support is a 404 saying so.
func New(o Options) http.Handler {
	if o.Datacenter == "" {
		o.Datacenter = DefaultDatacenter
	}
	if o.NodeName == "" {
		o.NodeName = DefaultNodeName
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
	a := &api{Options: o, ids: newIDCache(maxCachedIDs)}
	r := gin.New()
	r.Use(gin.Recovery())
	if o.Tracer != nil {
		r.Use(ginapi.Traced(o.Tracer))
	}
	if o.Observer != nil {
		r.Use(observe(o.Observer))
	}
	r.HandleMethodNotAllowed = true
	r.GET("/v1/agent/self", a.self)
	write := r.Group("/", a.requireToken, a.scoped)
	write.PUT("/v1/agent/service/register", a.register)
	write.PUT("/v1/agent/service/deregister/:id", a.deregister)
	for _, verb := range []string{"pass", "warn", "fail", "update"} {
		write.PUT("/v1/agent/check/"+verb+"/:check", a.updateCheck)
	}
	r.GET("/v1/catalog/services", a.catalogServices)
	r.GET("/v1/catalog/service/:name", a.catalogService)
	r.GET("/v1/health/service/:name", a.healthService)
	r.GET("/v1/health/checks/:name", a.healthChecks)
	r.GET("/v1/health/state/:state", a.healthState)
	r.GET("/v1/status/leader", a.leader)
	r.GET("/v1/status/peers", a.peers)
	r.NoRoute(func(c *gin.Context) {
		c.JSON(http.StatusNotFound, registryapi.Error{Detail: c.Request.Method + " " + c.Request.URL.Path +
			": this Consul endpoint is not supported by Vértice (docs/consul.md lists those that are)"})
	})
	r.NoMethod(func(c *gin.Context) {
		c.JSON(http.StatusMethodNotAllowed, registryapi.Error{Detail: "method " + c.Request.Method + " is not allowed on " + c.Request.URL.Path})
	})
	return r
}

// Claims says whether path belongs to the Consul API: everything under
// Consul's /v1/agent, /v1/catalog, /v1/health and /v1/status, but for
// Vértice's own change feed, /v1/catalog/indexes.
func Claims(path string) bool {
	if path == "/v1/catalog/indexes" {
		return false
	}
	for _, p := range []string{"/v1/agent/", "/v1/catalog/", "/v1/health/", "/v1/status/"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// Beside serves the Consul API's paths (Claims) with consul and every
// other path with native.
func Beside(native, consul http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if Claims(r.URL.Path) {
			consul.ServeHTTP(w, r)
			return
		}
		native.ServeHTTP(w, r)
	})
}

// operationOf names the registry operation a route performs, in the
// native API's terms, or "" for routes that are none (agent/self,
// status).
func operationOf(method, route string) string {
	switch {
	case route == "/v1/agent/service/register":
		return ginapi.OpRegister
	case route == "/v1/agent/service/deregister/:id":
		return ginapi.OpDeregister
	case strings.HasPrefix(route, "/v1/agent/check/"):
		return ginapi.OpHeartbeat
	case method != http.MethodGet:
		return ""
	case route == "/v1/catalog/service/:name", route == "/v1/health/service/:name", route == "/v1/health/checks/:name":
		return ginapi.OpLookup
	case route == "/v1/catalog/services", route == "/v1/health/state/:state":
		return ginapi.OpList
	}
	return ""
}

// observe reports every request to an operation's route to o; a read
// that blocks (index above 0) is a watch, as on the native API.
func observe(o ginapi.Observer) gin.HandlerFunc {
	return func(c *gin.Context) {
		op := operationOf(c.Request.Method, c.FullPath())
		if op == "" {
			c.Next()
			return
		}
		if v := c.Query("index"); v != "" && v != "0" && c.Request.Method == http.MethodGet {
			op = ginapi.OpWatch
		}
		start := time.Now()
		c.Next()
		o.Served(op, c.Writer.Status(), time.Since(start))
	}
}

// requireToken takes the token from X-Consul-Token (Consul's clients) or
// Authorization: Bearer, and compares in constant time.
func (a *api) requireToken(c *gin.Context) {
	if a.Token == "" {
		return
	}
	got := c.GetHeader("X-Consul-Token")
	if got == "" {
		got, _ = strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(a.Token)) != 1 {
		fail(c, errPermission)
	}
}

// scoped refuses a write aimed at another datacenter, namespace,
// partition or peer (the Go client's *Opts calls can send them).
func (a *api) scoped(c *gin.Context) {
	if err := a.checkScope(c); err != nil {
		fail(c, err)
	}
}

// self is GET /v1/agent/self: what Prometheus reads first (the
// datacenter) and never starts discovery without.
func (a *api) self(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{
		"Config": gin.H{"Datacenter": a.Datacenter, "NodeName": a.NodeName, "NodeID": "", "Server": true},
		"Member": gin.H{"Name": a.NodeName, "Status": 1},
	})
}

// leader is GET /v1/status/leader: every replica is as good as a leader;
// the answer is the address the client reached.
func (a *api) leader(c *gin.Context) { c.JSON(http.StatusOK, c.Request.Host) }

func (a *api) peers(c *gin.Context) { c.JSON(http.StatusOK, []string{c.Request.Host}) }
