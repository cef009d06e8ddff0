package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/testkit/compose"
	"github.com/vertice/vertice/internal/testkit/dockertest"
	"github.com/vertice/vertice/internal/testkit/images"
	"github.com/vertice/vertice/internal/testkit/poll"
)

// The URLs the README tells users to curl.
const (
	lbDemo      = "http://localhost:8888/services/demo_service"
	gatewayDemo = "http://localhost:8000/v2/demo_service/health"
	lbTemplate  = "http://localhost:8888/services/my_service"
)

var client = &http.Client{Timeout: 5 * time.Second}

// TestComposeSmoke runs the README's deployment walk-through on real
// containers, with the README's own commands (go tool mage up/down, the
// template's compose up/down, the curl URLs): up, verify through the load
// balancer and the gateway, add a service with the sidecar template, lose a
// registry replica, restart the stack, tear it down without leftovers.
func TestComposeSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("compose smoke test is long; run without -short")
	}
	dockertest.RequireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	stack, template := stacks(ctx, t)
	_ = template.Down(ctx) // leftovers of an interrupted run
	_ = stack.Down(ctx)
	t.Cleanup(func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer dcancel()
		if t.Failed() {
			logs(dctx, t, stack)
		}
		_ = template.Down(dctx)
		_ = stack.Down(dctx)
	})

	must(t, mage(ctx, t, stack, "up"))
	waitStatus(t, lbDemo, 200, 3*time.Minute)
	waitStatus(t, gatewayDemo, 200, time.Minute)

	waitRegistryScraped(t, 2*time.Minute)

	must(t, template.Run(ctx, "up", "-d"))
	waitStatus(t, lbTemplate, 200, 2*time.Minute)
	must(t, template.Run(ctx, "down"))

	must(t, stack.Run(ctx, "stop", "vertice-register-1"))
	for i := 0; i < 10; i++ {
		expectStatus(t, lbDemo, 200)
		expectStatus(t, gatewayDemo, 200)
	}

	restarted := time.Now()
	must(t, stack.Run(ctx, "restart"))
	waitRenewedAfter(t, lbDemo, restarted, 3*time.Minute)
	waitStatus(t, gatewayDemo, 200, time.Minute)

	must(t, mage(ctx, t, stack, "down"))
	expectNoLeftovers(ctx, t)
}

// mage runs `go tool mage <target>` from the repository root, as a user
// would, with the stack's extra variables in its environment.
func mage(ctx context.Context, t *testing.T, s compose.Stack, target string) error {
	cmd := exec.CommandContext(ctx, "go", "tool", "mage", target)
	cmd.Dir = s.Dir
	cmd.Env = append(os.Environ(), "HEARTBEAT_INTERVAL="+s.Env["HEARTBEAT_INTERVAL"])
	out, err := cmd.CombinedOutput()
	t.Logf("go tool mage %s:\n%s", target, out)
	return err
}

func stacks(ctx context.Context, t *testing.T) (compose.Stack, compose.Stack) {
	ictx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	for _, app := range []string{"registry", "sidecar", "gateway", "demo"} {
		if _, err := images.EnsureVertice(ictx, app); err != nil {
			t.Fatal(err)
		}
	}
	env, err := images.ComposeEnv(ictx)
	must(t, err)
	// Short heartbeats so the restart check does not wait 30 s per beat.
	env["HEARTBEAT_INTERVAL"] = "2"
	stack, err := compose.Default(env)
	must(t, err)
	stack.Out = testWriter{t}
	// The README's template commands name no image variables: the
	// template's defaults are our local images.
	template := compose.Stack{Project: "vertice-my-service", Files: []string{"deploy/compose/sidecar-template.yml"},
		Dir: stack.Dir, Out: stack.Out}
	return stack, template
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func get(url string) (int, []byte, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, b, err
}

func expectStatus(t *testing.T, url string, want int) {
	t.Helper()
	code, body, err := get(url)
	if err != nil || code != want {
		t.Fatalf("GET %s: want %d, got %d %s %v", url, want, code, body, err)
	}
}

// waitStatus polls url until it answers want, or fails after limit.
func waitStatus(t *testing.T, url string, want int, limit time.Duration) {
	t.Helper()
	poll.Eventually(t, limit, "GET "+url, poll.Status(url, want))
}

// waitRenewedAfter polls a lookup until its last heartbeat is later than
// since: the sidecar has renewed (or re-made) the registration since then.
func waitRenewedAfter(t *testing.T, url string, since time.Time, limit time.Duration) {
	t.Helper()
	poll.Eventually(t, limit, "renewal of "+url, func() error {
		code, body, err := get(url)
		var obj struct {
			LastHeartbeat float64 `json:"last_heartbeat"`
		}
		if err != nil || code != 200 || json.Unmarshal(body, &obj) != nil {
			return fmt.Errorf("%d %s %v", code, body, err)
		}
		if obj.LastHeartbeat <= float64(since.UnixNano())/1e9 {
			return fmt.Errorf("not renewed since %s: %s", since.Format(time.RFC3339Nano), body)
		}
		return nil
	})
}

// waitRegistryScraped polls Prometheus until it scrapes all five registry
// replicas: the monitoring stack's config and rules loaded and its targets
// resolve on the compose networks.
func waitRegistryScraped(t *testing.T, limit time.Duration) {
	t.Helper()
	const query = "http://localhost:9090/api/v1/query?query=sum(up%7Bjob%3D%22vertice-registry%22%7D)"
	poll.Eventually(t, limit, "Prometheus scraping 5 registry replicas", poll.Status(query, http.StatusOK, `,"5"]`))
}

func expectNoLeftovers(ctx context.Context, t *testing.T) {
	t.Helper()
	out, err := exec.CommandContext(ctx, "docker", "ps", "-aq", "--filter", "label=com.docker.compose.project="+compose.Project).Output()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("containers left behind: %q %v", out, err)
	}
	out, err = exec.CommandContext(ctx, "docker", "network", "ls", "-q", "--filter", "name=vertice-").Output()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("networks left behind: %q %v", out, err)
	}
}

func logs(ctx context.Context, t *testing.T, s compose.Stack) {
	cmd, err := s.Command(ctx, "logs", "--tail", "30")
	if err != nil {
		return
	}
	out, _ := cmd.CombinedOutput()
	t.Logf("compose logs:\n%s", out)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestMain(m *testing.M) { os.Exit(dockertest.Main(m)) }
