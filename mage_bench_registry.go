//go:build mage

package main

import (
	"fmt"
	"os"
	"os/exec"

	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"
)

// Registry measures lookup, register and heartbeat throughput and p50/p99
// of bin/vertice-registry through its HTTP server on a local redis-server
// (127.0.0.1), next to redis-benchmark GET/SET on the same Redis in the
// same run; prints the table and writes docs/bench-registry.md with the
// lookup/GET ratio. Bounded: 3 rounds (the median one is reported) of
// redis-benchmark -n 100000 per test, then 2 s warm-ups and at most 5 s per
// registry workload, about 45 s a round. Needs Debian's
// redis-server and redis-tools, installed with apt-get when missing and
// running as root.
func (Bench) Registry() error {
	mg.Deps(Build)
	if err := registryBenchTools(); err != nil {
		return err
	}
	return sh.RunV("go", "run", "./internal/registrybench/cmd/registrybench",
		"-registry", "bin/vertice-registry", "-out", "docs/bench-registry.md")
}

// registryBenchTools makes sure redis-server and redis-benchmark are there.
func registryBenchTools() error {
	_, serverErr := exec.LookPath("redis-server")
	_, benchErr := exec.LookPath("redis-benchmark")
	if serverErr == nil && benchErr == nil {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("bench:registry needs redis-server and redis-benchmark: apt-get install -y redis-server redis-tools")
	}
	install := []string{"install", "-y", "--no-install-recommends", "redis-server", "redis-tools"}
	if err := sh.RunV("apt-get", install...); err != nil {
		if err := sh.RunV("apt-get", "update"); err != nil {
			return err
		}
		return sh.RunV("apt-get", install...)
	}
	return nil
}
