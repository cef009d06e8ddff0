// Package compose drives the deploy/compose stacks with whichever Compose
// the machine has (`docker compose` or the older `docker-compose`). mage's
// up/down targets and the compose smoke test share it, so the commands the
// README shows are the ones the test runs.
package compose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/vertice/vertice/internal/testkit/build"
)

// Project is the Compose project name of the demo deployment.
const Project = "vertice"

// Files of the full deployment: registry stack, demo and gateway, monitoring.
var Files = []string{"deploy/compose/service-registry.yml", "deploy/compose/demo.yml", "deploy/compose/monitoring.yml"}

// Stack is one Compose project.
type Stack struct {
	Project string
	Files   []string
	// Env adds variables (image names, ports) to the process environment.
	Env map[string]string
	// Dir is the repository root; Files are relative to it.
	Dir string
	Out io.Writer
}

// Default is the demo deployment rooted at the repository containing cwd.
func Default(env map[string]string) (Stack, error) {
	root, err := build.RepoRoot()
	if err != nil {
		return Stack{}, err
	}
	return Stack{Project: Project, Files: Files, Env: env, Dir: root, Out: os.Stdout}, nil
}

// CLI returns the Compose command: the plugin when present, else the
// standalone docker-compose.
func CLI(ctx context.Context) ([]string, error) {
	if exec.CommandContext(ctx, "docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}, nil
	}
	if path, err := exec.LookPath("docker-compose"); err == nil {
		return []string{path}, nil
	}
	return nil, errors.New("neither `docker compose` nor `docker-compose` is installed")
}

// Command builds `compose -p <project> -f <file>... <args>`.
func (s Stack) Command(ctx context.Context, args ...string) (*exec.Cmd, error) {
	cli, err := CLI(ctx)
	if err != nil {
		return nil, err
	}
	full := append([]string{}, cli[1:]...)
	full = append(full, "-p", s.Project)
	for _, f := range s.Files {
		full = append(full, "-f", filepath.Join(s.Dir, f))
	}
	full = append(full, args...)
	cmd := exec.CommandContext(ctx, cli[0], full...)
	cmd.Dir = s.Dir
	cmd.Env = os.Environ()
	for k, v := range s.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd, nil
}

// Run runs a Compose command, streaming its output to s.Out; on failure the
// error carries the output's tail.
func (s Stack) Run(ctx context.Context, args ...string) error {
	cmd, err := s.Command(ctx, args...)
	if err != nil {
		return err
	}
	var buf strings.Builder
	out := io.Writer(&buf)
	if s.Out != nil {
		out = io.MultiWriter(s.Out, &buf)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		text := buf.String()
		if len(text) > 3000 {
			text = text[len(text)-3000:]
		}
		return fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, text)
	}
	return nil
}

// Up starts (or updates) the stack in the background.
func (s Stack) Up(ctx context.Context) error { return s.Run(ctx, "up", "-d", "--remove-orphans") }

// Down removes the stack's containers, networks and volumes.
func (s Stack) Down(ctx context.Context) error {
	return s.Run(ctx, "down", "-v", "--remove-orphans", "--timeout", "5")
}
