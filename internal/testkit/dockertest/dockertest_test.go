package dockertest

import (
	"bufio"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestInCI(t *testing.T) {
	for v, want := range map[string]bool{"": false, "false": false, "0": false, "true": true, "1": true, "yes": true} {
		t.Setenv("CI", v)
		if got := InCI(); got != want {
			t.Errorf("CI=%q: InCI()=%v want %v", v, got, want)
		}
	}
}

func TestConfigureKeepsExplicitValues(t *testing.T) {
	t.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "docker.example")
	Configure()
	if got := os.Getenv("TESTCONTAINERS_HOST_OVERRIDE"); got != "docker.example" {
		t.Fatalf("Configure overwrote an explicit value: %q", got)
	}
	if got := os.Getenv("TESTCONTAINERS_RYUK_DISABLED"); got != "true" {
		t.Fatalf("TESTCONTAINERS_RYUK_DISABLED=%q, want exactly true", got)
	}
}

// TestStartRedisServes proves the locally built image runs redis-server
// reachable through the mapped port, speaking RESP.
func TestStartRedisServes(t *testing.T) {
	r := StartRedis(t)
	conn, err := net.DialTimeout("tcp", r.MustAddr(t), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "+PONG" {
		t.Fatalf("PING answered %q, %v", line, err)
	}
}

// verdictTB records how requireEngine ended the test instead of ending it.
type verdictTB struct {
	testing.TB
	fatal, skip bool
}

func (v *verdictTB) Helper()               {}
func (v *verdictTB) Fatalf(string, ...any) { v.fatal = true }
func (v *verdictTB) Skipf(string, ...any)  { v.skip = true }

func TestRequireEngineSkipsOnlyOutsideCI(t *testing.T) {
	down := errors.New("Cannot connect to the Docker daemon")
	cases := []struct {
		ci          string
		err         error
		fatal, skip bool
	}{
		{ci: "", err: down, skip: true},
		{ci: "true", err: down, fatal: true},
		{ci: "true", err: nil},
		{ci: "", err: nil},
	}
	for _, c := range cases {
		t.Setenv("CI", c.ci)
		v := &verdictTB{TB: t}
		requireEngine(v, c.err)
		if v.fatal != c.fatal || v.skip != c.skip {
			t.Errorf("CI=%q err=%v: fatal=%v skip=%v, want fatal=%v skip=%v", c.ci, c.err, v.fatal, v.skip, c.fatal, c.skip)
		}
	}
}
