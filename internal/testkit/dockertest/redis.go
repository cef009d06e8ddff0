package dockertest

import (
	"context"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/vertice/vertice/internal/testkit/images"
)

// Ports the Redis containers listen on inside their network.
const (
	RedisPort    = "6379/tcp"
	SentinelPort = "26379/tcp"
)

// redisReady is logged by redis-server 7.0 and 7.2 alike once it serves.
const redisReady = "Ready to accept connections"

// startTimeout bounds one container's start, wait strategy included.
const startTimeout = 60 * time.Second

// Redis is a running redis-server container.
type Redis struct {
	Container *testcontainers.DockerContainer
}

// RedisArgs is the redis-server command line tests use: no persistence, so
// a restarted container starts empty and fast, and no protected mode,
// since clients come through Docker's port mapping.
func RedisArgs(extra ...string) []string {
	args := []string{images.RedisServerPath, "--protected-mode", "no", "--save", "", "--appendonly", "no"}
	return append(args, extra...)
}

// StartRedis starts a redis-server container, terminated when the test
// ends. opts may add a network, aliases or other arguments (WithCmd
// replaces RedisArgs()).
func StartRedis(tb testing.TB, opts ...testcontainers.ContainerCustomizer) *Redis {
	tb.Helper()
	image := RedisImage(tb)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	r, err := RunRedis(ctx, image, opts...)
	if r != nil {
		testcontainers.CleanupContainer(tb, r.Container)
	}
	if err != nil {
		tb.Fatalf("start redis (%s): %v", image, err)
	}
	return r
}

// RunRedis starts a redis-server container from image and leaves its end to
// the caller (Terminate), for containers shared by a whole test binary or a
// benchmark. Call RedisImage first. On error the returned Redis, if not
// nil, holds a container that still needs terminating.
func RunRedis(ctx context.Context, image string, opts ...testcontainers.ContainerCustomizer) (*Redis, error) {
	base := []testcontainers.ContainerCustomizer{
		testcontainers.WithCmd(RedisArgs()...),
		testcontainers.WithExposedPorts(RedisPort),
		testcontainers.WithWaitStrategy(RedisWait()),
	}
	ctr, err := testcontainers.Run(ctx, image, append(base, opts...)...)
	if ctr == nil {
		return nil, err
	}
	return &Redis{Container: ctr}, err
}

// Terminate stops and removes the container.
func (r *Redis) Terminate(ctx context.Context) error {
	return testcontainers.TerminateContainer(r.Container, testcontainers.StopContext(ctx))
}

// RedisWait waits for the ready line and the mapped port. The internal port
// check is skipped: it runs a shell inside the container, and the locally
// built image has none.
func RedisWait() wait.Strategy {
	return wait.ForAll(
		wait.ForLog(redisReady),
		wait.ForListeningPort(RedisPort).SkipInternalCheck(),
	).WithStartupTimeoutDefault(startTimeout)
}

// Addr is the host:port a client on this machine dials. Read it again after
// a Stop/Start: the engine maps a new host port.
func (r *Redis) Addr(ctx context.Context) (string, error) {
	return r.Container.PortEndpoint(ctx, RedisPort, "")
}

// MustAddr is Addr for tests.
func (r *Redis) MustAddr(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr, err := r.Addr(ctx)
	if err != nil {
		tb.Fatalf("redis address: %v", err)
	}
	return addr
}
