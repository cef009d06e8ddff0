// Package dockertest holds what every test that needs a Docker engine shares:
// the testcontainers settings these machines need, the "skip only outside
// CI" rule, and starters for the containers our suites use (Redis so far).
package dockertest

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/vertice/vertice/internal/testkit/images"
)

// Environment testcontainers must see before its first call. Ryuk's image
// cannot be pulled here, and the machines are containers themselves, so the
// default gateway is the wrong host for mapped ports.
var testcontainersEnv = map[string]string{
	"TESTCONTAINERS_RYUK_DISABLED": "true",
	"TESTCONTAINERS_HOST_OVERRIDE": "localhost",
}

// Configure sets the testcontainers variables that are not set already. Call
// it first thing in TestMain: testcontainers reads its configuration once.
func Configure() {
	for k, v := range testcontainersEnv {
		if _, ok := os.LookupEnv(k); !ok {
			os.Setenv(k, v)
		}
	}
}

// Main is a TestMain body for packages whose tests use Docker:
// func TestMain(m *testing.M) { os.Exit(dockertest.Main(m)) }.
func Main(m *testing.M) int {
	Configure()
	return m.Run()
}

// InCI reports whether the CI variable says this is a CI run. Any value but
// empty or a false boolean counts, so CI=1 and CI=yes are CI too.
func InCI() bool {
	v := strings.TrimSpace(os.Getenv("CI"))
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	return err != nil || b
}

var engine struct {
	once sync.Once
	err  error
}

// engineTimeout bounds the reachability check so a dead socket cannot hang
// the test binary.
const engineTimeout = 10 * time.Second

// EngineErr says why no Docker engine is reachable, or nil. It is checked
// once per process.
func EngineErr() error {
	engine.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
		defer cancel()
		cli, err := testcontainers.NewDockerClientWithOpts(ctx)
		if err != nil {
			engine.err = err
			return
		}
		defer cli.Close()
		_, engine.err = cli.Ping(ctx, client.PingOptions{})
	})
	return engine.err
}

// RequireDocker stops the test when no engine is reachable: a skip on a
// developer's machine, a failure under CI, so a green CI means every
// container suite ran.
func RequireDocker(tb testing.TB) {
	tb.Helper()
	requireEngine(tb, EngineErr())
}

func requireEngine(tb testing.TB, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	if InCI() {
		tb.Fatalf("Docker engine required under CI=%s but not reachable: %v", os.Getenv("CI"), err)
		return
	}
	tb.Skipf("no Docker engine reachable (%v); skipping (this would fail under CI=true)", err)
}

// imageTimeout covers a first-time image build, apt-get install included.
const imageTimeout = 5 * time.Minute

// RedisImage requires Docker and returns a local Redis image, building it on
// first use. A failed build is a failure, not a skip: the engine is there.
func RedisImage(tb testing.TB) string {
	tb.Helper()
	RequireDocker(tb)
	ctx, cancel := context.WithTimeout(context.Background(), imageTimeout)
	defer cancel()
	name, err := images.EnsureRedis(ctx)
	if err != nil {
		tb.Fatalf("redis image: %v", err)
	}
	return name
}
