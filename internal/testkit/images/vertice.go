package images

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"github.com/vertice/vertice/internal/testkit/build"
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
	root, err := build.RepoRoot()
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
	if err := build.Binary(ctx, o.log, root, app, filepath.Join(dir, "vertice-"+app)); err != nil {
		return "", fmt.Errorf("images: build %s: %w", image, err)
	}
	fmt.Fprintf(o.log, "images: docker build -t %s\n", image)
	if err := run(ctx, o.log, "docker", "build", "-q", "-f", filepath.Join(root, "deploy", "Dockerfile"),
		"--build-arg", "APP="+app, "-t", image, dir); err != nil {
		return "", fmt.Errorf("images: build %s: %w", image, err)
	}
	return image, nil
}
