package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
)

// BuiltEnv, set to 1, says the vertice/<app>:latest images are fresh (mage
// built them for this run): EnsureVertice then only checks they exist.
const BuiltEnv = "VERTICE_IMAGES_BUILT"

// Vertice is the local tag of one of our programs' images.
func Vertice(app string) string { return "vertice/" + app + ":latest" }

var appName = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// EnsureVertice builds ./apps/<app> as a static binary and the image
// vertice/<app>:latest from deploy/Dockerfile, and returns the image name.
// It rebuilds on every call, so tests always run the code they were
// compiled with; Go's build cache and Docker's layer cache keep an
// unchanged rebuild to a second or two. With VERTICE_IMAGES_BUILT=1 it
// trusts an existing image instead. Builds are serialized across processes
// (test packages run in parallel) by the same lock as EnsureRedis.
func EnsureVertice(ctx context.Context, app string, opts ...Option) (string, error) {
	o := options{log: io.Discard}
	for _, opt := range opts {
		opt(&o)
	}
	if !appName.MatchString(app) {
		return "", fmt.Errorf("images: bad app name %q", app)
	}
	image := Vertice(app)
	if os.Getenv(BuiltEnv) == "1" && exists(ctx, image) {
		return image, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, "apps", app, "main.go")); err != nil {
		return "", fmt.Errorf("images: no program apps/%s: %w", app, err)
	}
	unlock, err := lockFile(ctx, lockPath())
	if err != nil {
		return "", err
	}
	defer unlock()
	dir, err := os.MkdirTemp("", "vertice-"+app+"-image-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	if err := buildBinary(ctx, o.log, root, app, filepath.Join(dir, "vertice-"+app)); err != nil {
		return "", fmt.Errorf("images: build %s: %w", image, err)
	}
	fmt.Fprintf(o.log, "images: docker build -t %s\n", image)
	if err := run(ctx, o.log, "docker", "build", "-q", "-f", filepath.Join(root, "deploy", "Dockerfile"),
		"--build-arg", "APP="+app, "-t", image, dir); err != nil {
		return "", fmt.Errorf("images: build %s: %w", image, err)
	}
	return image, nil
}

// BuildFlags are the `go build` flags of every shipped binary: static and
// stripped; nomsgpack drops gin's msgpack codec, about 6 MB no API uses;
// nethttpomithttp2 drops net/http's bundled HTTP/2 (net/http documents it
// as the omithttp2 tag), about 0.5 MB of every binary and of the sidecar's
// RSS: our servers and clients all speak HTTP/1.1.
var BuildFlags = []string{"-tags", "nomsgpack,nethttpomithttp2", "-trimpath", "-ldflags", "-s -w"}

// buildBinary compiles the static binary deploy/Dockerfile copies.
func buildBinary(ctx context.Context, log io.Writer, root, app, out string) error {
	args := append(append([]string{"build"}, BuildFlags...), "-o", out, "./apps/"+app)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	b, err := cmd.CombinedOutput()
	if len(b) > 0 {
		log.Write(b)
	}
	if err != nil {
		return fmt.Errorf("go build ./apps/%s: %w: %s", app, err, tail(string(b), 2000))
	}
	return nil
}

// RepoRoot walks up from the working directory to the folder holding
// go.mod (tests run in their package's folder).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("images: no go.mod above the working directory")
		}
		dir = parent
	}
}
