// Package images makes the third-party container images Vértice's tests and
// compose files need, on machines with a Docker engine but no reachable
// image registry. Both the mage targets and the test helpers call it, so a
// plain `go test` works on a clean machine.
package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vertice/vertice/internal/testkit/build"
)

// Image names. Redis is the only third-party server so far; the same image
// runs redis-server and Sentinel (redis-server conf --sentinel).
const (
	// Redis is the local tag every test and compose file uses.
	Redis = "vertice/redis:local"
	// RedisUpstream is pulled and re-tagged when a registry is reachable.
	RedisUpstream = "redis:7.2"
	// RedisImageEnv, when set, names an image to use instead of building one.
	RedisImageEnv = "REDIS_IMAGE"
)

// Paths inside the image. redis-server lives where the upstream image keeps
// it, so commands that name it by absolute path work with either image.
const (
	RedisServerPath = "/usr/local/bin/redis-server"
	RedisCLIPath    = "/usr/local/bin/redis-cli"
	// DataDir is writable in both images (the upstream entrypoint chowns
	// it to the redis user): put Sentinel's rewritable config here.
	DataDir = "/data"
)

// pullTimeout bounds a `docker pull` where DNS or a proxy hangs instead of
// failing fast.
const pullTimeout = 2 * time.Minute

// Option tunes EnsureRedis.
type Option func(*options)

type options struct {
	log  io.Writer
	pull bool
}

// WithLog sends progress and the docker commands' output to w (mage passes
// os.Stdout; tests keep the default, which discards it).
func WithLog(w io.Writer) Option { return func(o *options) { o.log = w } }

// WithoutPull skips the `docker pull` attempt and builds from Debian's binary.
func WithoutPull() Option { return func(o *options) { o.pull = false } }

// EnsureRedis returns the name of a Redis image present in the local engine,
// making it first when missing: $REDIS_IMAGE if set (used as is), else
// vertice/redis:local, re-tagged from a pulled redis:7.2 when a registry
// answers, otherwise built FROM scratch from Debian's redis-server binary.
// It is cheap when the image exists, so every test may call it.
func EnsureRedis(ctx context.Context, opts ...Option) (string, error) {
	return ensure(ctx, thirdParty{env: RedisImageEnv, local: Redis, upstream: RedisUpstream, build: buildRedis}, opts)
}

// thirdParty describes one server image: the variable that overrides it,
// the local tag, the upstream image to try, and how to build it here.
type thirdParty struct {
	env, local, upstream string
	build                func(context.Context, io.Writer) error
}

func ensure(ctx context.Context, img thirdParty, opts []Option) (string, error) {
	o := options{log: io.Discard, pull: true}
	for _, opt := range opts {
		opt(&o)
	}
	if name := strings.TrimSpace(os.Getenv(img.env)); name != "" {
		return name, nil
	}
	if exists(ctx, img.local) {
		return img.local, nil
	}
	// Packages tested in parallel are separate processes: serialize the
	// build so they neither race on the tag nor build it twice.
	unlock, err := lockFile(ctx, lockPath())
	if err != nil {
		return "", err
	}
	defer unlock()
	if exists(ctx, img.local) {
		return img.local, nil
	}
	if o.pull && pullAndTag(ctx, o.log, img.upstream, img.local) {
		return img.local, nil
	}
	if err := img.build(ctx, o.log); err != nil {
		return "", fmt.Errorf("images: build %s: %w", img.local, err)
	}
	return img.local, nil
}

// Exists reports whether the local engine has image name.
func Exists(ctx context.Context, name string) bool { return exists(ctx, name) }

func exists(ctx context.Context, name string) bool {
	return exec.CommandContext(ctx, "docker", "image", "inspect", name).Run() == nil
}

// pullAndTag tries the upstream image; failure is expected on machines
// without a registry and only means "build it ourselves".
func pullAndTag(ctx context.Context, log io.Writer, upstream, local string) bool {
	pctx, cancel := context.WithTimeout(ctx, pullTimeout)
	defer cancel()
	fmt.Fprintf(log, "images: docker pull %s\n", upstream)
	if err := run(pctx, log, "docker", "pull", upstream); err != nil {
		fmt.Fprintf(log, "images: pull failed (%v); building %s from Debian's binaries\n", err, local)
		return false
	}
	return run(ctx, log, "docker", "tag", upstream, local) == nil
}

func run(ctx context.Context, log io.Writer, name string, args ...string) error {
	return build.Run(log, exec.CommandContext(ctx, name, args...))
}

// errNoRedisBinary explains what to install when nothing can be built.
var errNoRedisBinary = errors.New("redis-server not found: install Debian's redis-server package " +
	"(apt-get install -y redis-server redis-tools)")

// lockPath is shared by every process on the machine that builds images.
func lockPath() string { return filepath.Join(os.TempDir(), "vertice-images.lock") }
