package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/serve/version"
	"github.com/vertice/vertice/internal/testkit/build"
	"github.com/vertice/vertice/internal/testkit/freeport"
	"github.com/vertice/vertice/internal/testkit/poll"
	"github.com/vertice/vertice/internal/testkit/proc"
)

// The CLI's tests run the shipped binary (built as `go tool mage build`
// builds it) against a real registry process on loopback.

var bin string // folder of the built vertice and vertice-registry

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "vertice-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := build.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, app := range []string{"vertice", "registry"} {
		if err := build.Binary(context.Background(), io.Discard, root, app, filepath.Join(dir, build.BinaryName(app))); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	bin = dir
	return m.Run()
}

// startRegistry runs vertice-registry on a free loopback port and returns
// its URL once /health answers.
func startRegistry(t *testing.T, env ...string) string {
	t.Helper()
	addr := freeport.MustAddr(t)
	startRegistryAt(t, addr, env...)
	return "http://" + addr
}

func startRegistryAt(t *testing.T, addr string, env ...string) *proc.Process {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "vertice-registry"))
	cmd.Env = append([]string{"REGISTRY_ADDR=" + addr, "LOG_LEVEL=warn"}, env...)
	p := proc.StartT(t, "vertice-registry", cmd)
	p.Eventually(t, 10*time.Second, "registry up", poll.Status("http://"+addr+"/health", 200))
	return p
}

type result struct {
	stdout, stderr string
	code           int
}

// vertice runs the built CLI with env (and no other environment) and args.
func vertice(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "vertice"), args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("vertice %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// must runs vertice and fails the test unless it exits 0 with nothing on
// stderr.
func must(t *testing.T, env []string, args ...string) string {
	t.Helper()
	r := vertice(t, env, args...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("vertice %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails runs vertice and checks it exits code with one line on stderr
// holding every fragment, and nothing on stdout.
func fails(t *testing.T, env []string, code int, fragments []string, args ...string) {
	t.Helper()
	r := vertice(t, env, args...)
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if r.code != code || len(lines) != 1 || !strings.HasPrefix(r.stderr, "vertice: ") || r.stdout != "" {
		t.Fatalf("vertice %s: exit %d (want %d), stderr %q, stdout %q", strings.Join(args, " "), r.code, code, r.stderr, r.stdout)
	}
	for _, f := range fragments {
		if !strings.Contains(r.stderr, f) {
			t.Errorf("vertice %s: stderr %q lacks %q", strings.Join(args, " "), r.stderr, f)
		}
	}
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return v
}

func TestCommandsAgainstARealRegistry(t *testing.T) {
	url := startRegistry(t)
	env := []string{"REGISTRY_URL=" + url}

	out := must(t, env, "register", "nmap_service", "http://10.0.0.1:8047", "--id", "nmap-1", "--meta", "version=1.0.0",
		"--meta", "zone=a=b")
	if out != "registered nmap_service instance nmap-1 at http://10.0.0.1:8047\n" {
		t.Fatalf("register said %q", out)
	}
	w := decode[writeJSON](t, must(t, env, "register", "nmap_service", "http://10.0.0.2:8047", "-m", "status=unhealthy", "-o", "json"))
	if w.Action != "registered" || w.InstanceID != "10.0.0.2:8047" || w.ServiceName != "nmap_service" {
		t.Fatalf("register -o json: %+v", w)
	}
	must(t, env, "register", "osint_service", "https://osint:8443", "--health", "/ready")

	out = must(t, env, "services")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "SERVICE") || strings.Join(strings.Fields(lines[1])[:4], " ") != "nmap_service 2 1 1" ||
		strings.Join(strings.Fields(lines[2])[:4], " ") != "osint_service 1 1 0" {
		t.Fatalf("services:\n%s", out)
	}
	list := decode[[]serviceJSON](t, must(t, env, "services", "-o", "json"))
	if len(list) != 2 || list[0].Name != "nmap_service" || list[0].Instances != 2 || list[0].Unhealthy != 1 ||
		list[0].Index == 0 || list[0].Changed == nil || time.Since(*list[0].Changed).Abs() > time.Minute {
		t.Fatalf("services -o json: %+v", list)
	}

	out = must(t, env, "get", "nmap_service")
	if !strings.Contains(out, "10.0.0.2:8047  http://10.0.0.2:8047  unhealthy") ||
		!strings.Contains(out, "nmap-1         http://10.0.0.1:8047  healthy") || !strings.Contains(out, "version=1.0.0 zone=a=b") {
		t.Fatalf("get:\n%s", out)
	}
	got := decode[lookupJSON](t, must(t, env, "get", "nmap_service", "-o", "json"))
	if got.ServiceName != "nmap_service" || len(got.Instances) != 2 || got.Instances[1].InstanceID != "nmap-1" ||
		got.Instances[1].Metadata["zone"] != "a=b" || got.Instances[1].TTLRemaining < 55 || got.Instances[0].Status != "unhealthy" {
		t.Fatalf("get -o json: %+v", got)
	}
	// A lone instance registered with its own ID is shown with it.
	must(t, env, "register", "solo_service", "http://solo:1", "--id", "solo-1")
	if got := decode[lookupJSON](t, must(t, env, "get", "solo_service", "-o", "json")); got.Instances[0].InstanceID != "solo-1" {
		t.Fatalf("solo: %+v", got)
	}

	if out := must(t, env, "heartbeat", "nmap_service", "nmap-1"); out != "renewed nmap_service instance nmap-1\n" {
		t.Fatalf("heartbeat said %q", out)
	}
	fails(t, env, 1, []string{"404", `instance "ghost" of service "nmap_service" is not registered`}, "heartbeat", "nmap_service", "ghost")
	fails(t, env, 1, []string{"400", "service_name"}, "register", "Bad-Name", "http://x:1")

	if out := must(t, env, "deregister", "nmap_service", "nmap-1"); out != "deregistered nmap_service instance nmap-1\n" {
		t.Fatalf("deregister said %q", out)
	}
	d := decode[writeJSON](t, must(t, env, "deregister", "nmap_service", "-o", "json"))
	if d.Action != "deregistered" || d.InstanceID != "" {
		t.Fatalf("deregister -o json: %+v", d)
	}
	fails(t, env, 1, []string{`service "nmap_service" is not registered`}, "get", "nmap_service")

	out = must(t, env, "health")
	for _, want := range []string{"STATUS         healthy", "BACKEND        memory", "BREAKER        closed", "CATALOG INDEX"} {
		if !strings.Contains(out, want) {
			t.Errorf("health lacks %q:\n%s", want, out)
		}
	}
	h := decode[healthJSON](t, must(t, env, "health", "-o", "json"))
	// The build stamps what git says of the tree (a tree without git:
	// the version package's own name for an unknown build).
	root, _ := build.RepoRoot()
	wantVersion := cmp.Or(build.Describe(context.Background(), root), version.Unknown)
	if !h.Healthy() || h.Backend != "memory" || h.Breaker != "closed" || h.Index == 0 || h.Registry != url ||
		h.Version != wantVersion {
		t.Fatalf("health -o json: %+v (want the version %q)", h, wantVersion)
	}
	if out := must(t, env, "version"); !strings.HasPrefix(out, "vertice "+h.Version+"\nregistry "+h.Version+" at "+url) {
		t.Fatalf("version: %q", out)
	}
}

// A degraded replica (a stand-in answering /health as a registry whose
// Redis is down does) prints its report and exits 1 with the reason.
func TestHealthOfADegradedReplicaIsExit1(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"status":"degraded","reason":"backend unavailable: dial tcp 10.0.0.1:6379",` +
			`"notifications":"down: reads go to Redis","backend":"redis","topology":"sentinel","breaker":"open","version":"v9"}`))
	}))
	defer srv.Close()
	r := vertice(t, []string{"REGISTRY_URL=" + srv.URL}, "health")
	if r.code != 1 || r.stderr != "vertice: the registry is degraded: backend unavailable: dial tcp 10.0.0.1:6379\n" ||
		!strings.Contains(r.stdout, "STATUS         degraded (backend unavailable: dial tcp 10.0.0.1:6379)") ||
		!strings.Contains(r.stdout, "BACKEND        redis (sentinel)") || !strings.Contains(r.stdout, "BREAKER        open") ||
		!strings.Contains(r.stdout, "NOTIFICATIONS  down: reads go to Redis") || strings.Contains(r.stdout, "CATALOG INDEX") {
		t.Fatalf("%+v", r)
	}
}

func TestTokenFromEnvironmentOrFlag(t *testing.T) {
	url := startRegistry(t, "REGISTRY_TOKEN=s3cret")
	env := []string{"REGISTRY_URL=" + url}
	fails(t, env, 1, []string{"401", "REGISTRY_TOKEN"}, "register", "a_service", "http://a:1")
	must(t, append(env, "REGISTRY_TOKEN=s3cret"), "register", "a_service", "http://a:1")
	must(t, env, "--token", "s3cret", "deregister", "a_service")
	// The token never shows in help, whatever the environment holds.
	if out := must(t, append(env, "REGISTRY_TOKEN=s3cret"), "--help"); strings.Contains(out, "s3cret") {
		t.Fatalf("help shows the token:\n%s", out)
	}
}

// Control characters a registrant chose are shown escaped, never sent to
// the terminal.
func TestTerminalEscapesAreNotPrinted(t *testing.T) {
	url := startRegistry(t)
	env := []string{"REGISTRY_URL=" + url}
	must(t, env, "register", "tty_service", "http://t:1", "--meta", "note=\x1b[2J\x1b]0;pwned\x07")
	out := must(t, env, "get", "tty_service")
	if strings.ContainsAny(out, "\x1b\x07") || !strings.Contains(out, `note=\x1b[2J\x1b]0;pwned\x07`) {
		t.Fatalf("get printed %q", out)
	}
}

func TestUnreachableRegistryIsExit1(t *testing.T) {
	env := []string{"REGISTRY_URL=http://" + freeport.MustAddr(t)} // nothing listens there
	for _, args := range [][]string{{"services"}, {"get", "a_service"}, {"register", "a_service", "http://a:1"},
		{"heartbeat", "a_service"}, {"deregister", "a_service", "a-1"}, {"watch"}, {"watch", "a_service"}, {"health"}} {
		fails(t, env, 1, []string{"cannot reach the registry at http://127.0.0.1:", "connection refused", "REGISTRY_URL"}, args...)
	}
}

func TestBadUsageIsExit2(t *testing.T) {
	env := []string{"REGISTRY_URL=http://127.0.0.1:1"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"get"}, "vertice get needs NAME"},
		{[]string{"get", "a", "b"}, "at most 1"},
		{[]string{"register", "a_service"}, "needs NAME ENDPOINT"},
		{[]string{"deregister", "a", "b", "c"}, "at most 2"},
		{[]string{"services", "--colour"}, "unknown flag: --colour"},
		{[]string{"services", "-o", "yaml"}, `--output "yaml": must be table or json`},
		{[]string{"register", "a_service", "http://a:1", "--meta", "novalue"}, `--meta "novalue": must be KEY=VALUE`},
		{[]string{"--registry", "ftp://r:21", "services"}, "--registry"},
		{[]string{"watch", "--wait", "0s"}, "--wait 0s: must be positive"},
		{[]string{"services", "--timeout", "soon"}, "invalid argument"},
	} {
		fails(t, env, 2, []string{c.want, "--help"}, c.args...)
	}
	fails(t, append(env, "REGISTRY_TIMEOUT=forever"), 2, []string{"REGISTRY_TIMEOUT"}, "services")
}

// The images' shared HEALTHCHECK runs -healthcheck: a client is healthy
// while it runs, whatever the registry.
func TestHealthcheckFlagOfTheImages(t *testing.T) {
	if out := must(t, []string{"REGISTRY_URL=http://127.0.0.1:1"}, "-healthcheck"); out != "" {
		t.Fatalf("printed %q", out)
	}
}

func TestShellCompletion(t *testing.T) {
	url := startRegistry(t)
	env := []string{"REGISTRY_URL=" + url}
	if out := must(t, env, "completion", "bash"); !strings.Contains(out, "__start_vertice") {
		t.Fatalf("completion bash: %.200s", out)
	}
	must(t, env, "register", "nmap_service", "http://n:1", "--id", "nmap-1")
	must(t, env, "register", "osint_service", "http://o:1")
	// Shells call the hidden __complete command (its debug line goes to
	// stderr).
	if r := vertice(t, env, "__complete", "get", ""); r.code != 0 || !strings.HasPrefix(r.stdout, "nmap_service\nosint_service\n") {
		t.Fatalf("service names: %+v", r)
	}
	if r := vertice(t, env, "__complete", "deregister", "nmap_service", ""); r.code != 0 || !strings.HasPrefix(r.stdout, "nmap-1\n") {
		t.Fatalf("instance IDs: %+v", r)
	}
}

// watchProc is a running `vertice watch -o json`, its events read as they
// come.
type watchProc struct {
	cmd    *exec.Cmd
	events chan event
	stderr *proc.Tail
}

func startWatch(t *testing.T, env []string, args ...string) *watchProc {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "vertice"), append([]string{"watch", "-o", "json"}, args...)...)
	cmd.Env = env
	w := &watchProc{cmd: cmd, events: make(chan event, 100), stderr: &proc.Tail{}}
	cmd.Stderr = w.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(w.events)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var e event
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Errorf("watch printed a line that is not JSON: %q", sc.Text())
				continue
			}
			w.events <- e
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return w
}

// next is the next event, which must come within d.
func (w *watchProc) next(t *testing.T, d time.Duration) event {
	t.Helper()
	select {
	case e, ok := <-w.events:
		if !ok {
			t.Fatalf("watch ended; stderr: %s", w.stderr.String())
		}
		return e
	case <-time.After(d):
		t.Fatalf("no event within %s; stderr: %s", d, w.stderr.String())
	}
	return event{}
}

// stop ends the watch as Ctrl-C does: it must exit 0.
func (w *watchProc) stop(t *testing.T) {
	t.Helper()
	_ = w.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- w.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("watch after Ctrl-C: %v; stderr: %s", err, w.stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watch did not stop on Ctrl-C")
	}
}

// post sends a write straight to the API, so the CLI under test is only
// the watchProc.
func post(t *testing.T, url, body string) {
	t.Helper()
	resp, err := http.Post(url+"/register", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("register: %s", resp.Status)
	}
}

// A change shows within 1 s: the propagation bound of the issue, with
// ample slack over the milliseconds it takes on loopback.
const changeBound = time.Second

func TestWatchEveryService(t *testing.T) {
	url := startRegistry(t, "REGISTRY_TTL=2s")
	env := []string{"REGISTRY_URL=" + url}
	post(t, url, `{"service_name":"nmap_service","instance_id":"nmap-1","endpoint":"http://n:1"}`)
	w := startWatch(t, env)
	if e := w.next(t, 10*time.Second); e.Event != "present" || e.Service != "nmap_service" || e.InstanceID != "nmap-1" {
		t.Fatalf("first event: %+v", e)
	}
	start := time.Now()
	post(t, url, `{"service_name":"osint_service","instance_id":"osint-1","endpoint":"http://o:1"}`)
	e := w.next(t, changeBound)
	if e.Event != "added" || e.Service != "osint_service" || e.InstanceID != "osint-1" || e.Status != "healthy" {
		t.Fatalf("after a registration: %+v", e)
	}
	t.Logf("registration printed %s after it was answered", time.Since(start))
	// nmap-1 is never renewed: its lease ends and the watch says so.
	e = w.next(t, 2*time.Second+changeBound)
	if e.Event != "removed" || e.Service != "nmap_service" || e.InstanceID != "nmap-1" {
		t.Fatalf("after the lease ended: %+v", e)
	}
	w.stop(t)
}

func TestWatchOneService(t *testing.T) {
	url := startRegistry(t)
	env := []string{"REGISTRY_URL=" + url}
	w := startWatch(t, env, "demo_service")
	// Not registered yet: the watch waits for it to appear.
	poll.Eventually(t, 10*time.Second, "watch started", poll.Holds(func() bool { return strings.Contains(w.stderr.String(), "watching") }))
	post(t, url, `{"service_name":"other_service","endpoint":"http://x:1"}`) // not watched: prints nothing
	start := time.Now()
	post(t, url, `{"service_name":"demo_service","instance_id":"d-1","endpoint":"http://d:1"}`)
	if e := w.next(t, changeBound); e.Event != "added" && e.Event != "present" || e.Service != "demo_service" || e.InstanceID != "d-1" {
		t.Fatalf("after the registration: %+v", e)
	}
	t.Logf("registration printed %s after it was answered", time.Since(start))
	post(t, url, `{"service_name":"demo_service","instance_id":"d-1","endpoint":"http://d:1","metadata":{"status":"unhealthy"}}`)
	if e := w.next(t, changeBound); e.Event != "changed" || e.Status != "unhealthy" {
		t.Fatalf("after the health flip: %+v", e)
	}
	req, _ := http.NewRequest("DELETE", url+"/services/demo_service/d-1", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("deregister: %v %v", resp, err)
	}
	if e := w.next(t, changeBound); e.Event != "removed" || e.InstanceID != "d-1" {
		t.Fatalf("after the deregistration: %+v", e)
	}
	w.stop(t)
}

// TestWatchRidesOutARegistryRestart: while the registry is away the watch
// says so once and keeps trying; the restarted registry (an empty memory
// store) is read afresh: what is gone is removed, what is new added.
func TestWatchRidesOutARegistryRestart(t *testing.T) {
	addr := freeport.MustAddr(t)
	url := "http://" + addr
	first := startRegistryAt(t, addr)
	post(t, url, `{"service_name":"old_service","instance_id":"old-1","endpoint":"http://o:1"}`)
	w := startWatch(t, []string{"REGISTRY_URL=" + url})
	if e := w.next(t, 10*time.Second); e.Event != "present" || e.Service != "old_service" {
		t.Fatalf("first event: %+v", e)
	}
	if err := first.Stop(proc.Grace); err != nil {
		t.Fatalf("registry stop: %v", err)
	}
	poll.Eventually(t, 10*time.Second, "the outage reported", poll.Holds(func() bool {
		return strings.Contains(w.stderr.String(), "cannot reach the registry") && strings.Contains(w.stderr.String(), "retrying")
	}))
	startRegistryAt(t, addr)
	post(t, url, `{"service_name":"new_service","instance_id":"new-1","endpoint":"http://n:1"}`)
	got := map[string]string{}
	for len(got) < 2 {
		e := w.next(t, 15*time.Second) // the retry backs off up to 10 s
		got[e.Service] = e.Event
	}
	if got["old_service"] != "removed" || got["new_service"] != "added" {
		t.Fatalf("after the restart: %v", got)
	}
	if n := strings.Count(w.stderr.String(), "retrying"); n != 1 || !strings.Contains(w.stderr.String(), "answers again") {
		t.Fatalf("the outage should be reported once, and its end: %s", w.stderr.String())
	}
	w.stop(t)
}
