package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"sync/atomic"
)

type demo struct {
	name, addr string
	sick       atomic.Bool
	log        *slog.Logger
}

// newHandler serves GET /health, GET /, /echo[/...] and the health switch
// POST /admin/health?status=healthy|unhealthy. name and addr say which
// instance answered, so load-balancing tests can count them.
func newHandler(name, addr string, log *slog.Logger) http.Handler {
	d := &demo{name: name, addr: addr, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", d.health)
	mux.HandleFunc("GET /{$}", d.hello)
	mux.HandleFunc("/echo", d.echo)
	mux.HandleFunc("/echo/", d.echo)
	mux.HandleFunc("POST /admin/health", d.setHealth)
	return mux
}

func (d *demo) health(w http.ResponseWriter, _ *http.Request) {
	if d.sick.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unhealthy"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "healthy"})
}

func (d *demo) hello(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"message": "Hello from " + d.name, "instance": d.name + "@" + d.addr})
}

func (d *demo) echo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery,
		"instance": d.name + "@" + d.addr,
	})
}

func (d *demo) setHealth(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Query().Get("status") {
	case "healthy":
		d.sick.Store(false)
	case "unhealthy":
		d.sick.Store(true)
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"detail": "status: must be healthy or unhealthy"})
		return
	}
	d.log.Warn("health switched", "status", r.URL.Query().Get("status"))
	d.health(w, r)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
