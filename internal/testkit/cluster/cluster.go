// Package cluster starts Vértice's programs as containers on one Docker
// network, the way the compose files wire them (environment, network
// aliases), for the e2e and chaos suites: Redis, registry replicas, demo
// services with their sidecars, the gateway and Toxiproxy between any of
// them. Every container and network ends with the test; on failure the
// containers' logs are written to the test log.
//
// The settings are short (a 4 s lease, 1 s heartbeats) so that expiries
// and recoveries take seconds; Defaults names them so tests can state their
// bounds in the same terms.
package cluster

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/vertice/vertice/internal/testkit/dockertest"
	"github.com/vertice/vertice/internal/testkit/images"
)

// Ports inside the containers.
const (
	RegistryPort = "8888/tcp"
	SidecarPort  = "9100/tcp"
	DemoPort     = "8080/tcp"
	GatewayPort  = "8000/tcp"
)

// Aliases every stack uses. Every registry replica also answers to
// RegistryAlias: Docker's DNS returns all of them, so clients spread over
// the replicas and a stopped one drops out of the answer.
const (
	RedisAlias     = "redis"
	RegistryAlias  = "registry"
	ToxiproxyAlias = "toxiproxy"
	// Service is the name the demo services register under.
	Service = "demo_service"
)

// Timings of the stack, short enough for tests, in the production
// proportions (heartbeat ≪ lease; breaker open ≪ stale TTLs).
const (
	TTL             = 4 * time.Second
	Heartbeat       = time.Second
	BackoffMax      = 3 * time.Second
	CacheTTL        = 2 * time.Second
	BreakerOpen     = 3 * time.Second
	RedisTimeout    = 500 * time.Millisecond
	RegistryTimeout = time.Second // sidecar and gateway → registry, per call
	// RequestBound is a hang guard for one HTTP request the test makes: no
	// call the stack answers should take this long, fault or not.
	RequestBound = 5 * time.Second
)

// startTimeout bounds one container's start, its wait strategy included.
const startTimeout = 60 * time.Second

// Cluster is one Docker network and the containers a test started on it.
type Cluster struct {
	t       testing.TB
	Network *testcontainers.DockerNetwork
}

// New requires Docker (skip outside CI, failure under CI) and creates a
// network for the test.
func New(t testing.TB) *Cluster {
	t.Helper()
	dockertest.RequireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	nw, err := tcnetwork.New(ctx)
	testcontainers.CleanupNetwork(t, nw)
	if err != nil {
		t.Fatalf("cluster network: %v", err)
	}
	return &Cluster{t: t, Network: nw}
}

// On uses a network someone else made (a Sentinel set's).
func On(t testing.TB, nw *testcontainers.DockerNetwork) *Cluster {
	t.Helper()
	dockertest.RequireDocker(t)
	return &Cluster{t: t, Network: nw}
}

// Node is one running container of ours, reached from the test through
// its mapped port.
type Node struct {
	t     testing.TB
	Alias string
	Ctr   *testcontainers.DockerContainer
	port  string
}

// URL is the base URL of the node's port on this machine. It is read each
// time: a restarted container gets a new host port.
func (n *Node) URL() string {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u, err := n.Ctr.PortEndpoint(ctx, n.port, "http")
	if err != nil {
		n.t.Fatalf("%s: mapped port: %v", n.Alias, err)
	}
	return u
}

// Kill sends SIGKILL (docker kill): no shutdown code runs.
func (n *Node) Kill() {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		n.t.Fatalf("docker client: %v", err)
	}
	defer cli.Close()
	if _, err := cli.ContainerKill(ctx, n.Ctr.GetContainerID(), client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		n.t.Fatalf("kill %s: %v", n.Alias, err)
	}
	// Return once the engine has seen it exit, so the test's clock starts
	// from a dead process.
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := n.Ctr.State(ctx)
		if err == nil && !st.Running {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("%s still running after SIGKILL: %v", n.Alias, err)
		}
		time.Sleep(50 * time.Millisecond) // polling the engine
	}
}

// Stop is docker stop: SIGTERM, then SIGKILL after grace.
func (n *Node) Stop(grace time.Duration) {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), grace+30*time.Second)
	defer cancel()
	if err := n.Ctr.Stop(ctx, &grace); err != nil {
		n.t.Fatalf("stop %s: %v", n.Alias, err)
	}
}

// ExitCode is the exit code of a stopped container.
func (n *Node) ExitCode() int {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := n.Ctr.State(ctx)
	if err != nil {
		n.t.Fatalf("%s state: %v", n.Alias, err)
	}
	return st.ExitCode
}

// Start starts a stopped or killed container again (same network and
// aliases) and waits for it as at its first start.
func (n *Node) Start() {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := n.Ctr.Start(ctx); err != nil {
		n.t.Fatalf("start %s again: %v", n.Alias, err)
	}
}

// run starts a container on the cluster's network with the given aliases,
// exposing port and waiting for an HTTP answer on path there (any status
// when anyStatus). It is terminated when the test ends, after its logs are
// written to the test log if the test failed.
func (c *Cluster) run(image string, aliases []string, port, path string, anyStatus bool, env map[string]string,
	opts ...testcontainers.ContainerCustomizer) *Node {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	w := wait.ForHTTP(path).WithPort(port).WithStartupTimeout(startTimeout).WithPollInterval(100 * time.Millisecond)
	if anyStatus {
		w = w.WithStatusCodeMatcher(func(int) bool { return true })
	}
	base := []testcontainers.ContainerCustomizer{
		tcnetwork.WithNetwork(aliases, c.Network),
		testcontainers.WithEnv(env),
		testcontainers.WithExposedPorts(port),
		testcontainers.WithWaitStrategy(w),
	}
	ctr, err := testcontainers.Run(ctx, image, append(base, opts...)...)
	testcontainers.CleanupContainer(c.t, ctr)
	if ctr != nil {
		c.t.Cleanup(func() {
			if c.t.Failed() {
				dumpLogs(c.t, aliases[0], ctr)
			}
		})
	}
	if err != nil {
		c.t.Fatalf("start %s (%s): %v", aliases[0], image, err)
	}
	return &Node{t: c.t, Alias: aliases[0], Ctr: ctr, port: port}
}

// logTail is how much of each container's log a failed test shows.
const logTail = 24 << 10

func dumpLogs(t testing.TB, name string, ctr *testcontainers.DockerContainer) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := ctr.Logs(ctx)
	if err != nil {
		t.Logf("%s logs: %v", name, err)
		return
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	if len(b) > logTail {
		b = append([]byte("…"), b[len(b)-logTail:]...)
	}
	t.Logf("--- %s logs ---\n%s", name, b)
}

// Images are built once per test binary: EnsureVertice rebuilds on every
// call, and tests in parallel would queue on its lock.
var built struct {
	mu     sync.Mutex
	images map[string]string
}

func (c *Cluster) image(app string) string {
	c.t.Helper()
	built.mu.Lock()
	defer built.mu.Unlock()
	if img, ok := built.images[app]; ok {
		return img
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var (
		img string
		err error
	)
	if app == "toxiproxy" {
		img, err = images.EnsureToxiproxy(ctx)
	} else {
		img, err = images.EnsureVertice(ctx, app)
	}
	if err != nil {
		c.t.Fatalf("image %s: %v", app, err)
	}
	if built.images == nil {
		built.images = map[string]string{}
	}
	built.images[app] = img
	return img
}

// Redis starts redis-server as RedisAlias.
func (c *Cluster) Redis() *dockertest.Redis {
	c.t.Helper()
	return dockertest.StartRedis(c.t, tcnetwork.WithNetwork([]string{RedisAlias}, c.Network))
}

// RegistryEnv is a registry on RedisAlias with the cluster's timings.
func RegistryEnv() map[string]string {
	return map[string]string{
		"REGISTRY_ADDR":          ":8888",
		"REGISTRY_TTL":           TTL.String(),
		"REDIS_URL":              "redis://" + RedisAlias + ":6379",
		"REDIS_TIMEOUT":          RedisTimeout.String(),
		"STALE_CACHE_TTL":        "60s",
		"STORE_BREAKER_FAILURES": "3",
		"STORE_BREAKER_OPEN":     "1s",
		"LOG_LEVEL":              "debug",
	}
}

// Registry starts a replica named alias (also RegistryAlias) with
// RegistryEnv overridden by env.
func (c *Cluster) Registry(alias string, env map[string]string) *Node {
	c.t.Helper()
	return c.run(c.image("registry"), []string{alias, RegistryAlias}, RegistryPort, "/health", false,
		merge(RegistryEnv(), env))
}

// Demo starts the demo service as alias, answering as DEMO_NAME=alias.
func (c *Cluster) Demo(alias string) *Node {
	c.t.Helper()
	return c.run(c.image("demo"), []string{alias}, DemoPort, "/health", false,
		map[string]string{"DEMO_ADDR": ":8080", "DEMO_NAME": alias})
}

// SidecarEnv registers the demo service on host as Service.
func SidecarEnv(host string) map[string]string {
	return map[string]string{
		"SERVICE_NAME":             Service,
		"SERVICE_HOST":             host,
		"SERVICE_PORT":             "8080",
		"SERVICE_HEALTH_ENDPOINT":  "/health",
		"REGISTRY_URL":             "http://" + RegistryAlias + ":8888",
		"REGISTRY_TIMEOUT":         RegistryTimeout.String(),
		"HEARTBEAT_INTERVAL":       Heartbeat.String(),
		"INITIAL_WAIT_TIMEOUT":     "10s",
		"REGISTRATION_BACKOFF_MAX": BackoffMax.String(),
		"SIDECAR_ADDR":             ":9100",
		"LOG_LEVEL":                "debug",
	}
}

// Sidecar starts alias registering the demo on host, with SidecarEnv
// overridden by env. It does not wait for the registration (its /health is
// 503 until then): tests poll the registry for what they expect.
func (c *Cluster) Sidecar(alias, host string, env map[string]string) *Node {
	c.t.Helper()
	return c.run(c.image("sidecar"), []string{alias}, SidecarPort, "/health", true,
		merge(SidecarEnv(host), env))
}

// GatewayEnv routes through RegistryAlias with the cluster's timings.
func GatewayEnv() map[string]string {
	return map[string]string{
		"GATEWAY_ADDR":          ":8000",
		"REGISTRY_URL":          "http://" + RegistryAlias + ":8888",
		"REGISTRY_TIMEOUT":      RegistryTimeout.String(),
		"CACHE_TTL":             CacheTTL.String(),
		"BREAKER_FAILURES":      "3",
		"BREAKER_OPEN":          BreakerOpen.String(),
		"UPSTREAM_DIAL_TIMEOUT": "1s",
		"UPSTREAM_TIMEOUT":      "3s",
		"UPSTREAM_EJECT_FOR":    "2s",
		"LOG_LEVEL":             "debug",
	}
}

// Gateway starts the gateway as alias with GatewayEnv overridden by env.
func (c *Cluster) Gateway(alias string, env map[string]string) *Node {
	c.t.Helper()
	return c.run(c.image("gateway"), []string{alias}, GatewayPort, "/health", false, merge(GatewayEnv(), env))
}

// Pair is a demo service and its sidecar.
type Pair struct {
	Demo, Sidecar *Node
}

// Endpoint is what the sidecar registers for the demo.
func (p Pair) Endpoint() string { return "http://" + p.Demo.Alias + ":8080" }

// DemoPair starts demo-<n> and sidecar-<n> registering it.
func (c *Cluster) DemoPair(n int, sidecarEnv map[string]string) Pair {
	c.t.Helper()
	demo := c.Demo(fmt.Sprintf("demo-%d", n))
	return Pair{Demo: demo, Sidecar: c.Sidecar(fmt.Sprintf("sidecar-%d", n), demo.Alias, sidecarEnv)}
}

// merge returns base with over's entries set; an empty value in over
// removes the variable.
func merge(base, over map[string]string) map[string]string {
	out := maps.Clone(base)
	for k, v := range over {
		if v == "" {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

// httpClient is shared by the helpers; RequestBound is its hang guard.
var httpClient = &http.Client{Timeout: RequestBound}
