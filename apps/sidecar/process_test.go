package main

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/testkit/freeport"
)

// TestProcesses is the seed's FASE 7 first scenario on real processes:
// vertice-registry, vertice-demo and vertice-sidecar built with go build and
// run on loopback, then the same over https (tls_process_test.go). Skipped
// with -short.
func TestProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs real binaries")
	}
	bin := t.TempDir()
	for _, app := range []string{"registry", "sidecar", "demo"} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "vertice-"+app),
			"github.com/vertice/vertice/apps/"+app).CombinedOutput()
		if err != nil {
			t.Fatalf("go build apps/%s: %v\n%s", app, err, out)
		}
	}
	t.Run("KillRestart", func(t *testing.T) { testKillRestart(t, bin) })
	t.Run("SIGTERM", func(t *testing.T) { testSIGTERM(t, bin) })
	t.Run("BadConfigExits2", func(t *testing.T) { testBadConfig(t, bin) })
	t.Run("TLS", func(t *testing.T) { testTLS(t, bin) })
}

const processTTL = 2 * time.Second

// stack is a registry and a demo service, with the sidecar's environment.
type stack struct {
	bin, registryURL, statusAddr string
	sidecarEnv                   []string
}

func startStack(t *testing.T, bin string) *stack {
	regAddr, demoAddr := freeport.MustAddr(t), freeport.MustAddr(t)
	startProc(t, filepath.Join(bin, "vertice-registry"), "REGISTRY_ADDR="+regAddr, "REGISTRY_TTL="+processTTL.String())
	startProc(t, filepath.Join(bin, "vertice-demo"), "DEMO_ADDR="+demoAddr, "DEMO_NAME=demo-1")
	s := &stack{bin: bin, registryURL: "http://" + regAddr, statusAddr: freeport.MustAddr(t)}
	eventually(t, 10*time.Second, "registry up", func() bool { return httpStatus(s.registryURL+"/health") == 200 })
	eventually(t, 10*time.Second, "demo up", func() bool { return httpStatus("http://"+demoAddr+"/health") == 200 })
	host, port, _ := net.SplitHostPort(demoAddr)
	s.sidecarEnv = []string{"SERVICE_NAME=demo_service", "SERVICE_HOST=" + host, "SERVICE_PORT=" + port,
		"REGISTRY_URL=" + s.registryURL, "HEARTBEAT_INTERVAL=500ms", "SIDECAR_ADDR=" + s.statusAddr}
	return s
}

func (s *stack) lookup() int { return httpStatus(s.registryURL + "/services/demo_service") }

func (s *stack) sidecar(t *testing.T) *proc {
	return startProc(t, filepath.Join(s.bin, "vertice-sidecar"), s.sidecarEnv...)
}

// healthcheck runs `vertice-sidecar -healthcheck` as compose would.
func (s *stack) healthcheck() int {
	cmd := exec.Command(filepath.Join(s.bin, "vertice-sidecar"), "-healthcheck")
	cmd.Env = []string{"SIDECAR_ADDR=" + s.statusAddr}
	return exitCode(cmd.Run())
}

func testKillRestart(t *testing.T, bin string) {
	s := startStack(t, bin)
	sc := s.sidecar(t)
	eventually(t, 5*time.Second, "registered", func() bool { return s.lookup() == 200 })
	eventually(t, 2*time.Second, "-healthcheck exits 0", func() bool { return s.healthcheck() == 0 })

	sc.kill9(t)
	if code := s.healthcheck(); code != 1 {
		t.Fatalf("-healthcheck of a dead sidecar exited %d, want 1", code)
	}
	// kill -9 cannot deregister: the instance goes only when its lease expires.
	eventually(t, processTTL+3*time.Second, "lookup 404 once the TTL passed", func() bool { return s.lookup() == 404 })

	s.sidecar(t)
	eventually(t, 5*time.Second, "registered again after restart", func() bool { return s.lookup() == 200 })
}

func testSIGTERM(t *testing.T, bin string) {
	s := startStack(t, bin)
	sc := s.sidecar(t)
	eventually(t, 5*time.Second, "registered", func() bool { return s.lookup() == 200 })
	if err := sc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := sc.wait(t, 5*time.Second)
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0\n%s", code, sc.out.String())
	}
	// The process exits only after deregistering: no waiting for the TTL.
	if got := s.lookup(); got != 404 {
		t.Fatalf("lookup right after exit answered %d, want 404", got)
	}
	if !strings.Contains(sc.out.String(), `"msg":"Service unregistered"`) {
		t.Fatalf("no 'Service unregistered' record in:\n%s", sc.out.String())
	}
}

func testBadConfig(t *testing.T, bin string) {
	cmd := exec.Command(filepath.Join(bin, "vertice-sidecar"))
	cmd.Env = []string{"SERVICE_NAME=OSINT-Service", "SERVICE_HOST=vertice-osint", "SERVICE_PORT=8049"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if code := exitCode(cmd.Run()); code != 2 {
		t.Fatalf("exit code %d, want 2", code)
	}
	if msg := stderr.String(); !strings.Contains(msg, "SERVICE_NAME:") || !strings.Contains(msg, "uppercase") {
		t.Fatalf("stderr does not explain the naming rule:\n%s", msg)
	}
}

// proc is a child process whose output is kept for failure messages.
type proc struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

func startProc(t *testing.T, path string, env ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(path), out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = env // nothing inherited: no stray REGISTRY_TOKEN from the caller
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(path), p.out.String())
		}
	})
	return p
}

func (p *proc) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 5*time.Second)
}

func (p *proc) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return exitCode(p.err)
	case <-time.After(within):
		t.Fatalf("process still running %v after the signal", within)
		return -1
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	default:
		return -1
	}
}

func httpStatus(url string) int {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
