//go:build mage

// Vértice build targets. `go tool mage -l` lists them.
package main

// Each target is a few lines that call a package of internal/testkit
// (build, images, compose, the local run) or a command under
// internal/bench/cmd; the logic lives, and is tested, there.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"

	"github.com/vertice/vertice/internal/serve"
	"github.com/vertice/vertice/internal/testkit/build"
	"github.com/vertice/vertice/internal/testkit/compose"
	"github.com/vertice/vertice/internal/testkit/debian"
	"github.com/vertice/vertice/internal/testkit/images"
	"github.com/vertice/vertice/internal/testkit/lint"
	"github.com/vertice/vertice/internal/testkit/local"
	"github.com/vertice/vertice/internal/testkit/uishot"
)

// Test groups the test suites; `go tool mage test` runs them all.
type Test mg.Namespace

// Bench groups benchmarks whose numbers the README quotes.
type Bench mg.Namespace

// Images builds every image the compose files and container tests use,
// locally: these machines have a Docker engine but no image registry.
type Images mg.Namespace

// Compose groups the deployment checks.
type Compose mg.Namespace

// UI groups the web UI's targets.
type UI mg.Namespace

// Aliases keep the README's command short: `go tool mage test`.
var Aliases = map[string]interface{}{
	"test":   Test.All,
	"images": Images.All,
}

// testEnv is what testcontainers needs on machines with no image registry
// that are themselves containers (see internal/testkit/dockertest).
var testEnv = map[string]string{
	"TESTCONTAINERS_RYUK_DISABLED": "true",
	"TESTCONTAINERS_HOST_OVERRIDE": "localhost",
	"CGO_ENABLED":                  "1", // -race needs cgo
}

// ---- build and run ---------------------------------------------------------

// Build compiles every program under apps/ into a static bin/vertice-<name>,
// and the command-line client apps/vertice into bin/vertice.
func Build(ctx context.Context) error {
	apps, err := build.Binaries(ctx, os.Stdout, ".", "bin")
	if err != nil {
		return err
	}
	fmt.Println("built:", strings.Join(apps, ", "), "into bin/")
	return nil
}

// Lint fails when gofmt would change a file, when go vet or staticcheck
// finds a problem, or when govulncheck finds a vulnerability our code
// reaches that is not accepted with a reason (internal/testkit/lint).
func Lint() error { return lint.Run() }

// Fuzz runs every fuzz target for FUZZ_TIME each (default 30s), one after
// another: on demand, never in CI (the seed corpora run with the tests).
func Fuzz() error {
	fuzzTime := os.Getenv("FUZZ_TIME")
	if fuzzTime == "" {
		fuzzTime = "30s"
	}
	return lint.Fuzz(fuzzTime)
}

// Run builds and starts, on this machine: the registry on the in-memory
// store (:8888, web UI at /ui/), a demo service (:8080) with its sidecar
// (status on :9100), and the gateway (:8000), until Ctrl-C.
func Run(ctx context.Context) error {
	mg.CtxDeps(ctx, Build)
	ctx, stop := serve.SignalContext()
	defer stop()
	return local.Run(ctx, "bin", os.Stdout)
}

// ---- tests -------------------------------------------------------------------

// All runs lint and every test layer: unit, contract, component, e2e,
// chaos and the compose smoke test. The images are built once up front so
// the container suites reuse them; the cluster suites (chaos, deploy, e2e)
// run one at a time after the rest.
func (Test) All(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, Lint, Images.All)
	listed, err := sh.Output("go", "list", "./...")
	if err != nil {
		return err
	}
	rest, cluster := build.SplitPackages(strings.Fields(listed))
	env := map[string]string{images.BuiltEnv: "1"} // the images are fresh
	for k, v := range testEnv {
		env[k] = v
	}
	testArgs := []string{"test", "-race", "-count=1", "-timeout", "60m"}
	if err := sh.RunWithV(env, "go", append(testArgs, rest...)...); err != nil {
		return err
	}
	return sh.RunWithV(env, "go", append(append(testArgs, "-p", "1"), cluster...)...)
}

// Unit runs the tests that need nothing but Go (no Docker).
func (Test) Unit() error {
	return sh.RunWithV(testEnv, "go", "test", "-race", "-count=1", "./domain/...", "./ports/...",
		"./adapters/memstore/...", "./adapters/ginapi/...", "./adapters/resilient/...", "./adapters/proxy/...",
		"./adapters/registryapi/...", "./adapters/registryclient/...", "./adapters/healthprobe/...",
		"./adapters/promstats/...", "./adapters/ui/...", "./internal/envconf/...", "./internal/serve/version/...",
		"./internal/testkit/arch/...")
}

// Chaos runs the container suites on their own: the e2e happy paths and
// the chaos cases that kill and partition the stack (docs/chaos.md). The
// images are built from the working tree on first use; the chaos cases
// take about a minute and a half on a 2-CPU machine.
func (Test) Chaos() error {
	return sh.RunWithV(testEnv, "go", "test", "-count=1", "-v", "-timeout", "30m", "./chaos/...", "./e2e/...")
}

// ---- benchmarks --------------------------------------------------------------

// Api benchmarks lookup and register through the registry's HTTP handler on
// the memory store.
func (Bench) Api() error {
	return sh.RunV("go", "test", "-run", "^$", "-bench", ".", "-benchtime", "3s", "-benchmem", "./adapters/ginapi/")
}

// Registry measures lookup, register and heartbeat throughput and p50/p99
// of bin/vertice-registry through its HTTP server on a local redis-server
// (127.0.0.1), driven by wrk (C, one thread, like redis-benchmark), next to
// redis-benchmark GET/SET on the same Redis in the same run: at 50
// connections and over a sweep of 1 to 32 connections for the highest
// throughput within the p99 goals. Prints the tables and writes
// docs/bench-registry.md with both readings of the goals. Bounded: 3 rounds
// (the median one is reported) of redis-benchmark -n 100000 per test, then
// 2 s warm-ups, 5 s per 50-connection row and 3 s per sweep point, about
// 70 s a round. Needs Debian's redis-server, redis-tools and wrk, installed
// with apt-get when missing and running as root.
func (Bench) Registry(ctx context.Context) error {
	mg.CtxDeps(ctx, Build)
	if err := debian.Ensure(ctx, os.Stdout, "bench:registry", map[string]string{
		"redis-server": "redis-server", "redis-benchmark": "redis-tools", "wrk": "wrk"}); err != nil {
		return err
	}
	return sh.RunV("go", "run", "./internal/bench/cmd/registrybench",
		"-registry", "bin/vertice-registry", "-out", "docs/bench-registry.md")
}

// Gateway compares requests/s and p50/p99 of a small upstream reached
// directly, through vertice-gateway and through nginx, all on 127.0.0.1
// (bounded: 2 concurrency levels × 4 paths × (2 s warm-up + 10 s)), prints
// the table and writes docs/bench-gateway.md. Needs Debian's nginx-light
// and wrk, installed with apt-get when missing and running as root.
func (Bench) Gateway(ctx context.Context) error {
	mg.CtxDeps(ctx, Build)
	if err := debian.Ensure(ctx, os.Stdout, "bench:gateway", map[string]string{
		"/usr/sbin/nginx": "nginx-light", "wrk": "wrk", "taskset": "util-linux"}); err != nil {
		return err
	}
	return sh.RunV("go", "run", "./internal/bench/cmd/gatewaybench",
		"-gateway", "bin/vertice-gateway", "-nginx", "/usr/sbin/nginx", "-out", "docs/bench-gateway.md")
}

// Sidecar measures the sidecar's footprint: binary and FROM scratch image
// size, then RSS and CPU time of the process registering a demo service
// with a local registry at HEARTBEAT_INTERVAL=1 for BENCH_SIDECAR_DURATION
// (default 60s). Prints a table and writes docs/bench-sidecar.md.
func (Bench) Sidecar(ctx context.Context) error {
	mg.CtxDeps(ctx, Build)
	dur := "60s"
	if v := os.Getenv("BENCH_SIDECAR_DURATION"); v != "" {
		dur = v
	}
	return sh.RunV("go", "run", "./internal/bench/cmd/sidecarbench", "-bin", "bin", "-duration", dur,
		"-out", "docs/bench-sidecar.md")
}

// Propagation measures, on a containerised deployment (three registry
// replicas on Redis, five demo services with sidecars, two gateways: one
// following the change feed, one polling as v1 did), how soon a
// deregistration, a lease's end and a registration reach the gateway's
// routing, over 50 trials each. Writes docs/bench-propagation.md; takes
// about five minutes.
func (Bench) Propagation(ctx context.Context) error {
	mg.CtxDeps(ctx, Images.Vertice)
	out, err := filepath.Abs("docs/bench-propagation.md") // the benchmark runs in its package's folder
	if err != nil {
		return err
	}
	env := map[string]string{"BENCH_OUT": out, images.BuiltEnv: "1"}
	for k, v := range testEnv {
		env[k] = v
	}
	return sh.RunWithV(env, "go", "test", "-run", "^$", "-bench", "BenchmarkPropagation", "-benchtime", "1x",
		"-timeout", "40m", "./internal/bench/propagation/")
}

// ---- web UI ------------------------------------------------------------------

// Shot writes screenshots of the web UI's two pages to docs/
// (ui-services.png, ui-service.png), which the README shows: it builds the
// programs, starts bin/vertice-registry on a free port with sample
// services, and opens the pages in headless Chromium (Debian's chromium,
// installed with apt-get when missing and running as root).
func (UI) Shot(ctx context.Context) error {
	mg.CtxDeps(ctx, Build)
	if err := debian.Ensure(ctx, os.Stdout, "ui:shot", map[string]string{"chromium": "chromium"}); err != nil {
		return err
	}
	return uishot.Run(ctx, "bin/vertice-registry", "docs", os.Stdout)
}

// ---- images and compose --------------------------------------------------------

// All builds our programs' images and the third-party server images.
func (Images) All(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, Images.Vertice, Images.Servers)
	return nil
}

// Vertice builds vertice/<program>:latest FROM scratch for every program.
func (Images) Vertice(ctx context.Context) error {
	apps, err := build.Apps(".")
	if err != nil {
		return err
	}
	for _, app := range apps {
		tag, err := images.EnsureVertice(ctx, app, images.WithLog(os.Stdout))
		if err != nil {
			return err
		}
		fmt.Println("image ready:", tag)
	}
	return nil
}

// Servers makes Redis (and Sentinel), nginx, Prometheus and Alertmanager
// images: pulled upstream images re-tagged when a registry answers,
// otherwise Debian's binaries in FROM scratch images. A no-op for images
// that exist.
func (Images) Servers(ctx context.Context) error {
	for _, ensure := range []func(context.Context, ...images.Option) (string, error){
		images.EnsureRedis, images.EnsureNginx, images.EnsurePrometheus, images.EnsureAlertmanager,
	} {
		name, err := ensure(ctx, images.WithLog(os.Stdout))
		if err != nil {
			return err
		}
		fmt.Println("image ready:", name)
	}
	return nil
}

// Redis makes only vertice/redis:local (redis-server and Sentinel).
func (Images) Redis(ctx context.Context) error {
	name, err := images.EnsureRedis(ctx, images.WithLog(os.Stdout))
	if err != nil {
		return err
	}
	fmt.Println("image ready:", name)
	return nil
}

// Up builds the images and starts the registry stack (5 replicas behind
// nginx on :8888, Redis with Sentinel), the demo service with its sidecar,
// and the gateway on :8000.
func Up(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, Images.Vertice)
	stack, err := composeStack(ctx)
	if err != nil {
		return err
	}
	if err := stack.Up(ctx); err != nil {
		return err
	}
	fmt.Print(`
Vértice is starting (the demo registers within a few seconds):
  curl localhost:8888/services
  curl localhost:8888/services/demo_service
  curl localhost:8000/v2/demo_service/health
Stop it with: go tool mage down
`)
	return nil
}

// Down stops the deployment and removes its containers, networks and volumes.
func Down(ctx context.Context) error {
	stack, err := composeStack(ctx)
	if err != nil {
		return err
	}
	return stack.Down(ctx)
}

func composeStack(ctx context.Context) (compose.Stack, error) {
	env, err := images.ComposeEnv(ctx)
	if err != nil {
		return compose.Stack{}, err
	}
	return compose.Default(env)
}

// Smoke builds the images, brings the deployment up, stops a registry
// replica, restarts everything and tears it down, checking it answers
// through the load balancer and the gateway at each step.
func (Compose) Smoke() error {
	return sh.RunWithV(testEnv, "go", "test", "-count=1", "-v", "-timeout", "20m", "-run", "TestComposeSmoke", "./deploy/")
}
