// Package build knows how this repository is built and tested: where its
// root is, which programs it has, the flags of a shipped binary, and how
// the test packages split into the quick ones and the cluster suites. The
// magefile's targets, the image builder and the tests that build programs
// all ask it, so there is one answer to each.
package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Module is this repository's module path.
const Module = "github.com/vertice/vertice"

// Flags are the `go build` flags of every shipped binary: static (with
// CGO_ENABLED=0); nomsgpack drops gin's msgpack codec, about 6 MB no API
// uses. Binary adds the linker's flags (LinkFlags).
var Flags = []string{"-tags", "nomsgpack,nethttpomithttp2", "-trimpath"}

// VersionVar is the variable the linker sets to the build's version
// (internal/serve/version), shown by /health, the web UI and `vertice
// version`.
const VersionVar = Module + "/internal/serve/version.Version"

// LinkFlags strip the binary and stamp version into it (none when empty).
func LinkFlags(version string) string {
	if version == "" {
		return "-s -w"
	}
	return "-s -w -X " + VersionVar + "=" + version
}

// Describe names the commit root is at, as `git describe --tags --always
// --dirty` does (a tag, or a short commit, "-dirty" when the tree has
// changes), or "" when git cannot say (no git, no repository). The Go
// toolchain's own VCS stamp is off on these machines (GOFLAGS has
// -buildvcs=false), so the build stamps the version itself.
func Describe(ctx context.Context, root string) string {
	cmd := exec.CommandContext(ctx, "git", "describe", "--tags", "--always", "--dirty")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// BinaryName is the file name of app's binary: vertice-<app>, except the
// command-line client, apps/vertice, which is plain vertice.
func BinaryName(app string) string {
	if app == "vertice" {
		return "vertice"
	}
	return "vertice-" + app
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
			return "", errors.New("build: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Apps lists the programs under root/apps: folders with a main.go, sorted.
func Apps(root string) ([]string, error) {
	mains, err := filepath.Glob(filepath.Join(root, "apps", "*", "main.go"))
	if err != nil {
		return nil, err
	}
	apps := make([]string, len(mains))
	for i, m := range mains {
		apps[i] = filepath.Base(filepath.Dir(m))
	}
	slices.Sort(apps)
	return apps, nil
}

// Binary compiles root/apps/<app> into out as a shipped binary, writing
// the compiler's output to log.
func Binary(ctx context.Context, log io.Writer, root, app, out string) error {
	args := append(append([]string{"build"}, Flags...), "-ldflags", LinkFlags(Describe(ctx, root)),
		"-o", out, "./apps/"+app)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	return Run(log, cmd)
}

// Run runs cmd with its output copied to log; on failure the error
// carries the output's end, so callers need not have watched log.
func Run(log io.Writer, cmd *exec.Cmd) error {
	var b bytes.Buffer
	cmd.Stdout = io.MultiWriter(log, &b)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, Tail(b.String(), 2000))
	}
	return nil
}

// Binaries compiles every program into dir (see BinaryName) and returns
// the programs' names.
func Binaries(ctx context.Context, log io.Writer, root, dir string) ([]string, error) {
	apps, err := Apps(root)
	if err != nil {
		return nil, err
	}
	for _, app := range apps {
		if err := Binary(ctx, log, root, app, filepath.Join(dir, BinaryName(app))); err != nil {
			return nil, err
		}
	}
	return apps, nil
}

// ClusterSuites are the top-level folders whose tests each start a whole
// deployment of containers. They run one at a time: side by side on a
// 2-CPU engine, container kills and restarts slowed past the chaos suite's
// cache windows, and the engine left stale network endpoints ("has active
// endpoints" on compose down).
var ClusterSuites = []string{"chaos", "deploy", "e2e"}

// SplitPackages splits import paths into the cluster suites' packages and
// the rest, keeping their order.
func SplitPackages(pkgs []string) (rest, cluster []string) {
	for _, pkg := range pkgs {
		top, _, _ := strings.Cut(strings.TrimPrefix(pkg, Module+"/"), "/")
		if slices.Contains(ClusterSuites, top) {
			cluster = append(cluster, pkg)
		} else {
			rest = append(rest, pkg)
		}
	}
	return rest, cluster
}

// Tail is the end of s, at most n bytes, marked when cut.
func Tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
