//go:build mage

// Vértice build targets. `go tool mage -l` lists them.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"

	"github.com/vertice/vertice/internal/images"
)

// Test groups the test suites; `go tool mage test` runs them all.
type Test mg.Namespace

// Bench groups benchmarks whose numbers the README quotes.
type Bench mg.Namespace

// Aliases keep the README's command short: `go tool mage test`.
var Aliases = map[string]interface{}{
	"test":   Test.All,
	"images": Images.All,
}

// testEnv is what testcontainers needs on machines with no image registry
// that are themselves containers (see MACHINE.md).
var testEnv = map[string]string{
	"TESTCONTAINERS_RYUK_DISABLED": "true",
	"TESTCONTAINERS_HOST_OVERRIDE": "localhost",
	"CGO_ENABLED":                  "1", // -race needs cgo
}

// Build compiles every program under apps/ into a static bin/vertice-<name>.
func Build() error {
	apps, err := appDirs()
	if err != nil {
		return err
	}
	env := map[string]string{"CGO_ENABLED": "0"}
	for _, app := range apps {
		out := filepath.Join("bin", "vertice-"+app)
		if err := sh.RunWith(env, "go", buildFlags(out, app)...); err != nil {
			return err
		}
	}
	fmt.Println("built:", strings.Join(apps, ", "), "into bin/")
	return nil
}

// buildFlags makes the same static binaries the images hold.
func buildFlags(out, app string) []string {
	return append(append([]string{"build"}, images.BuildFlags...), "-o", out, "./apps/"+app)
}

func appDirs() ([]string, error) {
	entries, err := os.ReadDir("apps")
	if err != nil {
		return nil, err
	}
	var apps []string
	for _, e := range entries {
		// A program is a folder with a main.go; anything else is not built.
		if _, err := os.Stat(filepath.Join("apps", e.Name(), "main.go")); e.IsDir() && err == nil {
			apps = append(apps, e.Name())
		}
	}
	return apps, nil
}

// Lint fails when gofmt would change a file or go vet finds a problem.
func Lint() error {
	out, err := sh.Output("gofmt", "-l", ".")
	if err != nil {
		return err
	}
	if out != "" {
		return fmt.Errorf("gofmt would change:\n%s", out)
	}
	return sh.RunV("go", "vet", "./...")
}

// All runs lint and every test layer: unit, contract, component, e2e,
// chaos and the compose smoke test. The images are built once up front so
// the container suites reuse them.
func (Test) All(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, Lint, Images.All)
	listed, err := sh.Output("go", "list", "./...")
	if err != nil {
		return err
	}
	var rest, cluster []string
	for _, pkg := range strings.Fields(listed) {
		if isClusterSuite(pkg) {
			cluster = append(cluster, pkg)
		} else {
			rest = append(rest, pkg)
		}
	}
	testArgs := []string{"test", "-race", "-count=1", "-timeout", "60m"}
	if err := sh.RunWithV(withImagesBuilt(), "go", append(testArgs, rest...)...); err != nil {
		return err
	}
	return sh.RunWithV(withImagesBuilt(), "go", append(append(testArgs, "-p", "1"), cluster...)...)
}

// clusterSuites (top-level folders) each start a whole deployment of
// containers. They run one at a time: side by side on a 2-CPU engine,
// container kills and restarts slowed past the chaos suite's cache windows,
// and the engine left stale network endpoints ("has active endpoints" on
// compose down).
var clusterSuites = []string{"chaos", "deploy", "e2e"}

func isClusterSuite(pkg string) bool {
	top, _, _ := strings.Cut(strings.TrimPrefix(pkg, "github.com/vertice/vertice/"), "/")
	return slices.Contains(clusterSuites, top)
}

// withImagesBuilt tells the container suites that the images are fresh.
func withImagesBuilt() map[string]string {
	env := map[string]string{images.BuiltEnv: "1"}
	for k, v := range testEnv {
		env[k] = v
	}
	return env
}

// Unit runs the tests that need nothing but Go (no Docker).
func (Test) Unit() error {
	return sh.RunWithV(testEnv, "go", "test", "-race", "-count=1", "./domain/...", "./ports/...",
		"./adapters/memstore/...", "./adapters/ginapi/...", "./adapters/resilient/...", "./adapters/proxy/...",
		"./adapters/registryapi/...", "./adapters/registryclient/...", "./adapters/healthprobe/...",
		"./adapters/promstats/...", "./internal/envconf/...")
}

// Api benchmarks lookup and register through the registry's HTTP handler on
// the memory store.
func (Bench) Api() error {
	return sh.RunV("go", "test", "-run", "^$", "-bench", ".", "-benchtime", "3s", "-benchmem", "./adapters/ginapi/")
}

// Run builds and starts, on this machine: the registry on the in-memory
// store (:8888), a demo service (:8080) with its sidecar (status on :9100),
// and the gateway (:8000), until Ctrl-C.
func Run() error {
	mg.Deps(Build)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	procs := []struct {
		app string
		env []string
	}{
		{"registry", []string{"REGISTRY_ADDR=:8888"}},
		{"demo", []string{"DEMO_ADDR=127.0.0.1:8080", "DEMO_NAME=demo_service"}},
		{"sidecar", []string{"SERVICE_NAME=demo_service", "SERVICE_HOST=127.0.0.1", "SERVICE_PORT=8080",
			"REGISTRY_URL=http://127.0.0.1:8888", "HEARTBEAT_INTERVAL=10", "SIDECAR_ADDR=127.0.0.1:9100",
			"SERVICE_METADATA=version=1.0.0"}},
		{"gateway", []string{"GATEWAY_ADDR=:8000", "REGISTRY_URL=http://127.0.0.1:8888"}},
	}
	done := make(chan error, len(procs))
	for _, p := range procs {
		cmd := exec.CommandContext(ctx, filepath.Join("bin", "vertice-"+p.app))
		cmd.Env = append(os.Environ(), p.env...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		if err := cmd.Start(); err != nil {
			stop()
			return err
		}
		go func() { done <- cmd.Wait() }()
	}
	fmt.Print(runBanner)
	var first error
	for range procs {
		err := <-done
		if ctx.Err() == nil && first == nil {
			first = err // one program died on its own: stop the others
			stop()
		}
	}
	if ctx.Err() != nil && first == nil {
		return nil // stopped by Ctrl-C: a clean exit
	}
	return first
}

const runBanner = `
Vértice is running on this machine (in-memory store; Ctrl-C stops everything):
  registry  http://localhost:8888   demo service http://localhost:8080
  gateway   http://localhost:8000   sidecar status http://localhost:9100/health

The sidecar registers demo_service as soon as it answers /health:
  curl localhost:8888/services
  curl localhost:8888/services/demo_service
  curl localhost:8000/v2/demo_service/echo?hello=world

Register something yourself:
  curl -X POST localhost:8888/register -d '{"service_name":"my_service","endpoint":"http://vertice-my-service:8080","health_endpoint":"/health","metadata":{"version":"1.0.0"}}'
  curl localhost:8888/services/my_service

`
