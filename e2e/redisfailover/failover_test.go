// Package redisfailover runs the registry image against a Redis master, a
// replica and three Sentinels, kills the master and checks the registry
// serves again after Sentinel promotes the replica, losing no registration
// that was replicated or that a heartbeat renewed after the failover.
//
// The registry runs as a container on the set's network: Sentinels name
// the master by its container hostname, which only that network resolves.
package redisfailover

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/testcontainers/testcontainers-go"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/vertice/vertice/internal/testkit/dockertest"
	"github.com/vertice/vertice/internal/testkit/images"
	"github.com/vertice/vertice/internal/testkit/poll"
)

func TestMain(m *testing.M) { os.Exit(dockertest.Main(m)) }

const (
	registryPort = "8888/tcp"
	// ttl outlives the failover (seconds with down-after-milliseconds 1000)
	// by a wide margin, so an instance replicated before the kill must
	// still be there when it heartbeats after it.
	ttl = 30 * time.Second
	// failoverBound is how long the registry may take to write again after
	// the kill: Sentinel's detection (1 s) and election, plus go-redis
	// following +switch-master and the breaker's open interval (1 s).
	failoverBound = 25 * time.Second
	// requestBound is a hang guard for one HTTP request, not a latency goal.
	requestBound = 5 * time.Second
)

func TestRegistrySurvivesSentinelFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts six containers")
	}
	set := dockertest.StartSentinelSet(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	sentinels, err := set.HostSentinelAddrs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sentinel := redis.NewSentinelClient(&redis.Options{Addr: sentinels[0]})
	defer sentinel.Close()
	set.WaitReady(t)

	reg := startRegistry(ctx, t, set)

	// Instances registered, then confirmed on the replica: these must
	// survive the failover as they are.
	var replicated []instance
	for s := range 3 {
		for i := range 3 {
			in := instance{Service: fmt.Sprintf("failover_svc_%d", s), ID: fmt.Sprintf("before-%d-%d", s, i)}
			reg.mustRegister(t, in, http.StatusCreated)
			replicated = append(replicated, in)
		}
	}
	waitReplicated(ctx, t, set)
	for _, in := range replicated {
		reg.mustHaveInstance(t, in)
	}
	// Instances written just before the kill, with no replication check:
	// Redis replicates asynchronously, so these may be lost, and the
	// sidecar's rule (heartbeat 404 → register again) must bring them back.
	var unconfirmed []instance
	for i := range 3 {
		in := instance{Service: "failover_late", ID: fmt.Sprintf("late-%d", i)}
		reg.mustRegister(t, in, http.StatusCreated)
		unconfirmed = append(unconfirmed, in)
	}

	zero := time.Duration(0)
	killed := time.Now()
	if err := set.Master.Container.Stop(ctx, &zero); err != nil {
		t.Fatalf("kill master: %v", err)
	}
	t.Logf("master killed")

	// Writes come back once Sentinel has promoted the replica and the
	// registry's client follows it. Lookups of known services are served
	// (from Redis or, during the switch, from the stale cache) throughout.
	probe := instance{Service: "failover_after", ID: "after-0"}
	poll.Eventually(t, failoverBound, "registration through the registry after the failover", func() error {
		if code, err := reg.lookup(replicated[0].Service); err != nil || code != http.StatusOK {
			return fmt.Errorf("lookup of a known service during failover: %d %v", code, err)
		}
		code, _, err := reg.register(probe)
		if err != nil {
			return err
		}
		if code != http.StatusCreated && code != http.StatusOK {
			return fmt.Errorf("register answered %d", code)
		}
		return nil
	})
	t.Logf("registry writes again %s after the kill", time.Since(killed).Round(100*time.Millisecond))
	master, err := sentinel.GetMasterAddrByName(ctx, dockertest.MasterName).Result()
	if err != nil || master[0] != dockertest.ReplicaAlias {
		t.Fatalf("sentinel master after failover: %v %v; want %s", master, err, dockertest.ReplicaAlias)
	}
	poll.Eventually(t, 10*time.Second, "/health healthy after the failover", func() error {
		status, body, err := reg.get("/health")
		if err != nil || status != http.StatusOK || !strings.Contains(body, `"status":"healthy"`) {
			return fmt.Errorf("%d %s %v", status, body, err)
		}
		return nil
	})

	// Every replicated instance renews without re-registering.
	for _, in := range replicated {
		if code := reg.heartbeat(t, in); code != http.StatusOK {
			t.Errorf("%s/%s registered and replicated before the kill: heartbeat %d after the failover, want 200 (lost)",
				in.Service, in.ID, code)
		}
	}
	// The unconfirmed ones follow the sidecar's rule; count what was lost.
	lost := 0
	for _, in := range unconfirmed {
		switch code := reg.heartbeat(t, in); code {
		case http.StatusOK:
		case http.StatusNotFound:
			lost++
			reg.mustRegister(t, in, http.StatusCreated)
		default:
			t.Errorf("%s/%s: heartbeat %d after the failover", in.Service, in.ID, code)
		}
	}
	t.Logf("unreplicated registrations lost in the failover and registered again: %d of %d", lost, len(unconfirmed))
	// And every instance heartbeated after the failover is there.
	for _, in := range append(append(replicated, unconfirmed...), probe) {
		reg.mustHaveInstance(t, in)
	}
	if code := reg.heartbeat(t, probe); code != http.StatusOK {
		t.Errorf("instance registered after the failover: heartbeat %d", code)
	}
}

// waitReplicated polls until the replica's offset reaches the master's as
// read now, so every write made before the call is on the replica.
func waitReplicated(ctx context.Context, t *testing.T, set *dockertest.SentinelSet) {
	t.Helper()
	master := redis.NewClient(&redis.Options{Addr: set.Master.MustAddr(t)})
	defer master.Close()
	replica := redis.NewClient(&redis.Options{Addr: set.Replica.MustAddr(t)})
	defer replica.Close()
	info, err := master.Info(ctx, "replication").Result()
	if err != nil {
		t.Fatal(err)
	}
	want := infoInt(info, "master_repl_offset")
	poll.Eventually(t, 10*time.Second, "replica caught up with the master", func() error {
		info, err := replica.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		if got := infoInt(info, "slave_repl_offset"); got < want {
			return fmt.Errorf("replica offset %d < master offset %d", got, want)
		}
		return nil
	})
}

func infoInt(info, field string) int64 {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}

// registry is the registry container and a client for its API.
type registry struct {
	base   string
	client *http.Client
}

func startRegistry(ctx context.Context, t *testing.T, set *dockertest.SentinelSet) *registry {
	t.Helper()
	image, err := images.EnsureVertice(ctx, "registry")
	if err != nil {
		t.Fatal(err)
	}
	ctr, err := testcontainers.Run(ctx, image,
		tcnetwork.WithNetwork([]string{"vertice-registry"}, set.Network),
		testcontainers.WithEnv(map[string]string{
			"REGISTRY_ADDR":          ":8888",
			"REGISTRY_TTL":           ttl.String(),
			"REDIS_SENTINEL_ADDRS":   strings.Join(set.NetworkSentinelAddrs(), ","),
			"REDIS_MASTER_NAME":      dockertest.MasterName,
			"STORE_BREAKER_FAILURES": "3",
			"STORE_BREAKER_OPEN":     "1s",
			"STALE_CACHE_TTL":        "60s",
			"LOG_LEVEL":              "debug",
		}),
		testcontainers.WithExposedPorts(registryPort),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/health").WithPort(registryPort).
			WithStartupTimeout(60*time.Second)),
	)
	testcontainers.CleanupContainer(t, ctr)
	if ctr != nil {
		t.Cleanup(func() {
			if t.Failed() {
				dumpLogs(t, ctr)
			}
		})
	}
	if err != nil {
		t.Fatalf("start registry: %v", err)
	}
	addr, err := ctr.PortEndpoint(ctx, registryPort, "http")
	if err != nil {
		t.Fatal(err)
	}
	return &registry{base: addr, client: &http.Client{Timeout: requestBound}}
}

func dumpLogs(t *testing.T, ctr *testcontainers.DockerContainer) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := ctr.Logs(ctx)
	if err != nil {
		t.Logf("registry logs: %v", err)
		return
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, 64<<10))
	t.Logf("registry logs:\n%s", b)
}

type instance struct{ Service, ID string }

func (in instance) endpoint() string { return "http://" + in.ID + ":8080" }

func (r *registry) do(method, path string, body any) (int, string, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, "", err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, r.base+path, rd)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func (r *registry) get(path string) (int, string, error) { return r.do(http.MethodGet, path, nil) }

func (r *registry) register(in instance) (int, string, error) {
	return r.do(http.MethodPost, "/register", map[string]any{
		"service_name": in.Service, "instance_id": in.ID, "endpoint": in.endpoint(),
		"health_endpoint": "/health", "metadata": map[string]string{"version": "1.0.0"},
	})
}

func (r *registry) mustRegister(t *testing.T, in instance, want int) {
	t.Helper()
	code, body, err := r.register(in)
	if err != nil || code != want {
		t.Fatalf("register %s/%s: %d %s %v; want %d", in.Service, in.ID, code, body, err, want)
	}
}

func (r *registry) heartbeat(t *testing.T, in instance) int {
	t.Helper()
	code, body, err := r.do(http.MethodPost, "/heartbeat", map[string]string{"service_name": in.Service, "instance_id": in.ID})
	if err != nil {
		t.Fatalf("heartbeat %s/%s: %v", in.Service, in.ID, err)
	}
	if code != http.StatusOK && code != http.StatusNotFound {
		t.Logf("heartbeat %s/%s: %d %s", in.Service, in.ID, code, body)
	}
	return code
}

func (r *registry) lookup(service string) (int, error) {
	code, _, err := r.get("/services/" + service)
	return code, err
}

// mustHaveInstance looks the service up and finds the instance by its
// endpoint, in the single object or the instances array.
func (r *registry) mustHaveInstance(t *testing.T, in instance) {
	t.Helper()
	code, body, err := r.get("/services/" + in.Service)
	if err != nil || code != http.StatusOK {
		t.Errorf("lookup %s: %d %s %v", in.Service, code, body, err)
		return
	}
	var got struct {
		Endpoint  string `json:"endpoint"`
		Instances []struct {
			Endpoint string `json:"endpoint"`
		} `json:"instances"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Errorf("lookup %s: %v in %s", in.Service, err, body)
		return
	}
	if got.Endpoint == in.endpoint() {
		return
	}
	for _, x := range got.Instances {
		if x.Endpoint == in.endpoint() {
			return
		}
	}
	t.Errorf("lookup %s: instance %s missing from %s", in.Service, in.ID, body)
}
