// Package debian installs the Debian packages that benchmarks and image
// builds need, when they are missing and this process may (root with
// apt-get, as on CI machines); otherwise it says what to install.
package debian

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/vertice/vertice/internal/testkit/build"
)

// Ensure makes sure every command in packageOf (a name on PATH or an
// absolute path) is there, installing the packages that bring the missing
// ones; otherwise the error names what needs them and the apt-get line.
func Ensure(ctx context.Context, log io.Writer, what string, packageOf map[string]string) error {
	var missing []string
	for cmd, pkg := range packageOf {
		if _, err := exec.LookPath(cmd); err != nil && !slices.Contains(missing, pkg) {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	if err := Install(ctx, log, missing...); err != nil {
		return fmt.Errorf("%s needs: apt-get install -y %s (%w)", what, strings.Join(missing, " "), err)
	}
	return nil
}

// Find returns the path of binary, installing packages first when it is
// not on PATH.
func Find(ctx context.Context, log io.Writer, binary string, packages ...string) (string, error) {
	if path, err := exec.LookPath(binary); err == nil {
		return path, nil
	}
	if err := Install(ctx, log, packages...); err != nil {
		return "", fmt.Errorf("%s not found: install Debian's %s (%w)", binary, strings.Join(packages, " "), err)
	}
	return exec.LookPath(binary)
}

// Install runs apt-get install, and apt-get update first when the install
// fails (a fresh machine may have no package lists yet). It needs root.
func Install(ctx context.Context, log io.Writer, packages ...string) error {
	if _, err := exec.LookPath("apt-get"); err != nil || os.Geteuid() != 0 {
		return fmt.Errorf("not root with apt-get")
	}
	fmt.Fprintf(log, "apt-get install -y %s\n", strings.Join(packages, " "))
	args := append([]string{"install", "-y", "--no-install-recommends"}, packages...)
	if run(ctx, log, "apt-get", args...) == nil {
		return nil
	}
	if err := run(ctx, log, "apt-get", "update"); err != nil {
		return err
	}
	return run(ctx, log, "apt-get", args...)
}

func run(ctx context.Context, log io.Writer, name string, args ...string) error {
	return build.Run(log, exec.CommandContext(ctx, name, args...))
}
