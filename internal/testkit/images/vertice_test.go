package images_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/testkit/dockertest"
	"github.com/vertice/vertice/internal/testkit/images"
)

func TestMain(m *testing.M) { os.Exit(dockertest.Main(m)) }

func TestEnsureVerticeRejectsBadNames(t *testing.T) {
	for _, app := range []string{"", "../etc", "Registry", "no_such_app"} {
		if _, err := images.EnsureVertice(context.Background(), app); err == nil {
			t.Errorf("images.EnsureVertice(%q) succeeded", app)
		}
	}
}

// TestEnsureVerticeBuildsRegistry builds vertice/registry:latest and checks
// the image runs the program: -healthcheck against nothing exits 1, a bad
// configuration exits 2 with the variable named.
func TestEnsureVerticeBuildsRegistry(t *testing.T) {
	dockertest.RequireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	image, err := images.EnsureVertice(ctx, "registry")
	if err != nil {
		t.Fatal(err)
	}
	if image != "vertice/registry:latest" || !images.Exists(ctx, image) {
		t.Fatalf("image %q missing", image)
	}
	out, err := exec.CommandContext(ctx, "docker", "run", "--rm", "-e", "REGISTRY_TTL=forever", image).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "REGISTRY_TTL") {
		t.Fatalf("bad config run: %v\n%s", err, out)
	}
}

// TestEnsureVerticeBuildsTheCLI builds vertice/vertice:latest, the
// command-line client's image (the images' build covers every program
// under apps/), and runs it: --version exits 0, a call to a registry that
// is not there exits 1 with one line.
func TestEnsureVerticeBuildsTheCLI(t *testing.T) {
	dockertest.RequireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	image, err := images.EnsureVertice(ctx, "vertice")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, "docker", "run", "--rm", image, "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "vertice version ") {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	out, err = exec.CommandContext(ctx, "docker", "run", "--rm", "-e", "REGISTRY_URL=http://127.0.0.1:1", image, "services").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "cannot reach the registry") {
		t.Fatalf("services against nothing: %v\n%s", err, out)
	}
}
