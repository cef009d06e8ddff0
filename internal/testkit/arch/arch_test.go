// Package arch holds the architecture test: the import rules of the
// hexagon, read from the real import graph (go list -deps -json ./...,
// test files not included: tests may import any kit they like).
package arch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vertice/vertice/internal/testkit/build"
)

// pkg is what the rules read of one package of the graph.
type pkg struct {
	ImportPath string
	Standard   bool
	Imports    []string // direct, non-test imports
	Deps       []string // everything it links, transitively
}

// rel is an import path relative to the module, "" for other modules'.
func rel(path string) string {
	if path == build.Module {
		return "."
	}
	r, ok := strings.CutPrefix(path, build.Module+"/")
	if !ok {
		return ""
	}
	return r
}

// under says whether a module path (relative) is dir or below it.
func under(r string, dirs ...string) bool {
	for _, d := range dirs {
		if r == d || strings.HasPrefix(r, d+"/") {
			return true
		}
	}
	return false
}

// shipped is the code that goes into the binaries.
func shipped(r string) bool {
	return r != "" && !under(r, "ports/portstest") &&
		under(r, "apps", "adapters", "domain", "ports", "internal/serve", "internal/envconf", "internal/plainhttp")
}

// ioStd are the standard packages that reach the outside world: the
// network, files and processes, the global logger. Parsers such as
// net/url and net/netip do not.
func ioStd(path string) bool {
	for _, p := range []string{"net/http", "net/rpc", "net/smtp", "os", "database", "syscall", "io/ioutil",
		"log/syslog", "plugin"} {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return path == "net" || path == "log"
}

// domainLibraries are the only libraries the core may use: pure
// algorithms, no I/O.
var domainLibraries = []string{"github.com/sethvargo/go-retry", "golang.org/x/sync/singleflight"}

// rule forbids edges from the packages from selects to the packages
// forbidden selects. Direct rules read each package's own imports;
// linked rules read everything it links, however indirectly.
type rule struct {
	name      string
	reason    string
	from      func(r string) bool
	forbidden func(path string, std bool) bool
	linked    bool
}

var rules = []rule{
	{
		name:   "domain does no I/O",
		reason: "the core is pure rules: no network, files, processes or drivers; time and I/O come in through ports",
		from:   func(r string) bool { return under(r, "domain") },
		forbidden: func(path string, std bool) bool {
			if std {
				return ioStd(path)
			}
			return rel(path) == "" && !slices.Contains(domainLibraries, path)
		},
	},
	{
		name:   "domain knows no adapter, app or harness",
		reason: "the core owns the ports; adapters implement them and apps wire them, never the other way round",
		from:   func(r string) bool { return under(r, "domain") },
		forbidden: func(path string, _ bool) bool {
			r := rel(path)
			return r != "" && !under(r, "domain", "ports") || r == "ports/portstest"
		},
	},
	{
		name:   "ports import only domain value packages",
		reason: "a port is a small interface over the core's values (catalog, breaker states), not over use cases or libraries",
		from:   func(r string) bool { return under(r, "ports") && !under(r, "ports/portstest") },
		forbidden: func(path string, std bool) bool {
			return !std && !under(rel(path), "domain/catalog", "domain/breaker", "ports")
		},
	},
	{
		name:      "adapters never import apps",
		reason:    "an adapter serves any program; wiring is the app's job",
		from:      func(r string) bool { return under(r, "adapters") },
		forbidden: func(path string, _ bool) bool { return under(rel(path), "apps") },
	},
	{
		name:      "nothing imports apps",
		reason:    "apps are the only place adapters meet the core: main, configuration, wiring; nothing builds on them",
		from:      func(r string) bool { return r != "" },
		forbidden: func(path string, _ bool) bool { return under(rel(path), "apps") },
	},
	{
		name:   "shared plumbing stays below the hexagon",
		reason: "internal/serve, envconf and plainhttp are used by apps and adapters alike; they must not reach into either",
		from:   func(r string) bool { return under(r, "internal/serve", "internal/envconf", "internal/plainhttp") },
		forbidden: func(path string, _ bool) bool {
			return under(rel(path), "domain", "ports", "adapters", "apps")
		},
	},
	{
		name:      "the sidecar links no gin",
		reason:    "the sidecar's binary and RSS budget (docs/bench-sidecar.md) leave no room for the registry's HTTP framework",
		from:      func(r string) bool { return under(r, "apps/sidecar") },
		forbidden: func(path string, _ bool) bool { return strings.HasPrefix(path, "github.com/gin-gonic/") },
		linked:    true,
	},
	{
		name:   "the CLI links no server libraries",
		reason: "vertice is a client of the registry's HTTP API: it needs neither the registry's HTTP framework nor a Redis driver",
		from:   func(r string) bool { return under(r, "apps/vertice") },
		forbidden: func(path string, _ bool) bool {
			return strings.HasPrefix(path, "github.com/gin-gonic/") || strings.HasPrefix(path, "github.com/redis/")
		},
		linked: true,
	},
	{
		name: "the sidecar links no OpenTelemetry",
		reason: "tracing is the registry's and the gateway's (adapters/tracing); the SDK and its OTLP exporter (gRPC, " +
			"protobuf) would multiply the sidecar's binary and break its budget (docs/bench-sidecar.md)",
		from: func(r string) bool { return under(r, "apps/sidecar") },
		forbidden: func(path string, _ bool) bool {
			return strings.HasPrefix(path, "go.opentelemetry.io/") || strings.HasPrefix(path, "google.golang.org/grpc")
		},
		linked: true,
	},
	{
		name:   "shipped code links no harness",
		reason: "internal/bench, internal/testkit and ports/portstest are for tests and benchmarks; a binary never carries them",
		from:   shipped,
		forbidden: func(path string, _ bool) bool {
			return under(rel(path), "internal/bench", "internal/testkit", "ports/portstest")
		},
		linked: true,
	},
}

// violations applies every rule to the graph: one line per forbidden
// edge, naming the rule and its reason.
func violations(graph []pkg) []string {
	std := map[string]bool{}
	for _, p := range graph {
		std[p.ImportPath] = p.Standard
	}
	var out []string
	for _, p := range graph {
		r := rel(p.ImportPath)
		for _, ru := range rules {
			if r == "" || !ru.from(r) {
				continue
			}
			edges := p.Imports
			if ru.linked {
				edges = p.Deps
			}
			for _, to := range edges {
				if ru.forbidden(to, std[to]) {
					out = append(out, fmt.Sprintf("%s -> %s: %s (%s)", r, to, ru.name, ru.reason))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// importGraph runs go list over the whole module.
func importGraph(t *testing.T) []pkg {
	t.Helper()
	root, err := build.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-deps", "-json", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var graph []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		graph = append(graph, p)
	}
	return graph
}

func TestImportRules(t *testing.T) {
	graph := importGraph(t)
	ours := 0
	for _, p := range graph {
		if rel(p.ImportPath) != "" {
			ours++
		}
	}
	// A graph without the core would pass every rule and prove nothing.
	for _, want := range []string{"domain/catalog", "ports", "adapters/ginapi", "apps/sidecar", "apps/vertice", "internal/testkit/poll"} {
		if !slices.ContainsFunc(graph, func(p pkg) bool { return rel(p.ImportPath) == want }) {
			t.Fatalf("go list found no %s among %d packages of ours", want, ours)
		}
	}
	for _, v := range violations(graph) {
		t.Error(v)
	}
}

// TestRulesCatchForbiddenEdges feeds the rules a graph with one forbidden
// edge of each kind, and an allowed one of each.
func TestRulesCatchForbiddenEdges(t *testing.T) {
	m := func(r string) string { return build.Module + "/" + r }
	graph := []pkg{
		{ImportPath: "net/http", Standard: true},
		{ImportPath: "net/url", Standard: true},
		{ImportPath: "github.com/redis/go-redis/v9"},
		{ImportPath: "github.com/gin-gonic/gin"},
		{ImportPath: m("domain/catalog"), Imports: []string{"net/url", "net/http"}},
		{ImportPath: m("domain/registry"), Imports: []string{m("ports"), m("adapters/memstore"), "github.com/redis/go-redis/v9"}},
		{ImportPath: m("ports"), Imports: []string{m("domain/catalog"), m("domain/registry")}},
		{ImportPath: m("adapters/ginapi"), Imports: []string{m("domain/registry"), m("apps/registry")}},
		{ImportPath: m("internal/envconf"), Imports: []string{m("domain/catalog")}},
		{ImportPath: "go.opentelemetry.io/otel/sdk/trace"},
		{ImportPath: m("apps/sidecar"), Deps: []string{"github.com/gin-gonic/gin", m("internal/testkit/poll"), "go.opentelemetry.io/otel/sdk/trace"}},
		{ImportPath: m("apps/vertice"), Deps: []string{"github.com/redis/go-redis/v9", "github.com/gin-gonic/gin", m("adapters/registryclient")}},
		{ImportPath: m("domain/routing"), Imports: []string{"go.opentelemetry.io/otel/sdk/trace"}},
		{ImportPath: m("internal/bench/gateway"), Imports: []string{m("adapters/ginapi"), m("domain/registry")}},
	}
	got := strings.Join(violations(graph), "\n")
	for _, want := range []string{
		"domain/catalog -> net/http: domain does no I/O",
		"domain/registry -> github.com/redis/go-redis/v9: domain does no I/O",
		"domain/registry -> " + m("adapters/memstore") + ": domain knows no adapter",
		"ports -> " + m("domain/registry") + ": ports import only domain value packages",
		"adapters/ginapi -> " + m("apps/registry") + ": adapters never import apps",
		"adapters/ginapi -> " + m("apps/registry") + ": nothing imports apps",
		"internal/envconf -> " + m("domain/catalog") + ": shared plumbing stays below the hexagon",
		"apps/sidecar -> github.com/gin-gonic/gin: the sidecar links no gin",
		"apps/sidecar -> " + m("internal/testkit/poll") + ": shipped code links no harness",
		"apps/vertice -> github.com/redis/go-redis/v9: the CLI links no server libraries",
		"apps/vertice -> github.com/gin-gonic/gin: the CLI links no server libraries",
		"apps/sidecar -> go.opentelemetry.io/otel/sdk/trace: the sidecar links no OpenTelemetry",
		"domain/routing -> go.opentelemetry.io/otel/sdk/trace: domain does no I/O",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no violation %q in:\n%s", want, got)
		}
	}
	for _, allowed := range []string{"domain/catalog -> net/url", "domain/registry -> " + m("ports") + ":",
		"ports -> " + m("domain/catalog"), "internal/bench/gateway ->", "apps/vertice -> " + m("adapters/registryclient")} {
		if strings.Contains(got, allowed) {
			t.Errorf("allowed edge %q reported in:\n%s", allowed, got)
		}
	}
}
