//go:build mage

package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"
)

// Registry measures lookup, register and heartbeat throughput and p50/p99
// of bin/vertice-registry through its HTTP server on a local redis-server
// (127.0.0.1), driven by wrk (C, one thread, like redis-benchmark), next to
// redis-benchmark GET/SET on the same Redis in the same run: at 50
// connections and over a sweep of 1 to 32 connections for the highest
// throughput within the p99 goals. Prints the tables and writes
// docs/bench-registry.md with both readings of the goals. Bounded: 3 rounds
// (the median one is reported) of redis-benchmark -n 100000 per test, then
// 2 s warm-ups, 5 s per 50-connection row and 3 s per sweep point, about
// 70 s a round. Needs Debian's redis-server, redis-tools and wrk, installed
// with apt-get when missing and running as root.
func (Bench) Registry() error {
	mg.Deps(Build)
	if err := aptTools("bench:registry", map[string]string{
		"redis-server": "redis-server", "redis-benchmark": "redis-tools", "wrk": "wrk"}); err != nil {
		return err
	}
	return sh.RunV("go", "run", "./internal/bench/cmd/registrybench",
		"-registry", "bin/vertice-registry", "-out", "docs/bench-registry.md")
}

// aptTools makes sure each command (a name on PATH or an absolute path) is
// there, installing the Debian package that brings it when running as root;
// target names the mage target in the message otherwise.
func aptTools(target string, packageOf map[string]string) error {
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
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s needs: apt-get install -y %s", target, strings.Join(missing, " "))
	}
	install := append([]string{"install", "-y", "--no-install-recommends"}, missing...)
	if err := sh.RunV("apt-get", install...); err != nil {
		if err := sh.RunV("apt-get", "update"); err != nil {
			return err
		}
		return sh.RunV("apt-get", install...)
	}
	return nil
}
