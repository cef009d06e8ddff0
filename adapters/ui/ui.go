// Package ui is the registry's read-only web UI, served under /ui/ by
// every replica: server-rendered pages (html/template, embedded in the
// binary) of the services, of one service's instances and of the replica,
// useful with JavaScript off. A little plain JavaScript (static/app.js)
// keeps them live: it waits on the API's blocking reads and, when an index
// moves, fetches the page again and swaps its live parts. No CDN, no build
// step, no inline script: the Content-Security-Policy forbids both.
//
// Everything a registrant controls (names, endpoints, metadata, tags) is
// data to html/template, escaped where it lands; an endpoint is a link only
// when it is an http(s) URL.
package ui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/vertice/vertice/adapters/registryapi"
	"github.com/vertice/vertice/domain/registry"
)

// Prefix is where the UI lives on the registry.
const Prefix = "/ui/"

// DefaultWait is how long a page's blocking read waits when nothing
// changes: it also bounds how stale the replica panel may get.
const DefaultWait = 10 * time.Second

// ContentSecurityPolicy allows the UI's own script, style and requests and
// nothing else: no inline script or style, no other origin, no framing.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Options wire the UI. Zero values: nil Health shows no replica panel
// beyond the catalog's index; nil Logger discards; zero Wait means
// DefaultWait.
type Options struct {
	Registry *registry.Service
	// Health describes this replica as GET /health does.
	Health func(context.Context) registryapi.Health
	Logger *slog.Logger
	Wait   time.Duration
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

type ui struct {
	Options
	services, service, missing *template.Template
	assets                     map[string]asset
}

// New returns the UI's handler; mount it at Prefix.
func New(o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Wait <= 0 {
		o.Wait = DefaultWait
	}
	u := &ui{Options: o, assets: loadAssets()}
	u.services = parse("services.html")
	u.service = parse("service.html")
	u.missing = parse("missing.html")
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Prefix+"{$}", u.servicesPage)
	mux.HandleFunc("GET "+Prefix+"services/{name}", u.servicePage)
	mux.HandleFunc("GET "+Prefix+"static/{file}", u.static)
	mux.HandleFunc(Prefix, u.notFound)
	return secure(mux)
}

// parse makes one page: the layout with the page's blocks. The templates
// are part of the binary, so a parse error is a bug caught by any test.
func parse(page string) *template.Template {
	return template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html",
		"templates/"+page))
}

// secure sets the headers every answer of the UI carries.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// Endpoint links must not tell services where their operators
		// browse from.
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// render executes t into a buffer first, so a failure is a clean 500
// rather than half a page.
func (u *ui) render(w http.ResponseWriter, status int, t *template.Template, data any) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		u.Logger.Error("ui: rendering a page failed", "error", err.Error())
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// Pages show live data: never from a cache.
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func (u *ui) notFound(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the web UI is read-only", http.StatusMethodNotAllowed)
		return
	}
	p := u.newPage(r.Context(), r.URL.Path, "Not found", "")
	p.Error = "There is no page at " + r.URL.Path + "."
	u.render(w, http.StatusNotFound, u.missing, p)
}

// asset is one embedded static file, with its ETag.
type asset struct {
	body []byte
	etag string
	kind string
}

func loadAssets() map[string]asset {
	out := map[string]asset{}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic(err) // embedded: cannot fail at run time
	}
	for _, e := range entries {
		b, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		kind := "application/octet-stream"
		switch path.Ext(e.Name()) {
		case ".js":
			kind = "text/javascript; charset=utf-8"
		case ".css":
			kind = "text/css; charset=utf-8"
		case ".svg":
			kind = "image/svg+xml"
		}
		out[e.Name()] = asset{body: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, kind: kind}
	}
	return out
}

// static serves the embedded files; browsers revalidate them (no-cache),
// and the ETag makes that a 304. The files are a few KB: no ranges (and
// so none of http.ServeContent's Range parsing, GO-2026-6609 in go1.26.8).
func (u *ui) static(w http.ResponseWriter, r *http.Request) {
	a, ok := u.assets[r.PathValue("file")]
	if !ok {
		u.notFound(w, r)
		return
	}
	h := w.Header()
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache")
	if etagMatches(r.Header.Get("If-None-Match"), a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", a.kind)
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(a.body)
	}
}

// etagMatches reads If-None-Match: a list of entity tags, or *.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// rootOf is the relative path from a page to the registry's root, so the
// pages and their script work behind a proxy that serves the registry
// under a path prefix: "../" from /ui/, "../../" from /ui/services/x.
func rootOf(urlPath string) string {
	rest := strings.TrimPrefix(urlPath, "/")
	return strings.Repeat("../", strings.Count(rest, "/"))
}
