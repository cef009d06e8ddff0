//go:build mage

package main

import (
	"os"

	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"
)

// Sidecar measures the sidecar's footprint: binary and FROM scratch image
// size, then RSS and CPU time of the process registering a demo service
// with a local registry at HEARTBEAT_INTERVAL=1 for BENCH_SIDECAR_DURATION
// (default 60s). Prints a table and writes docs/bench-sidecar.md.
func (Bench) Sidecar() error {
	mg.Deps(Build)
	dur := "60s"
	if v := os.Getenv("BENCH_SIDECAR_DURATION"); v != "" {
		dur = v
	}
	return sh.RunV("go", "run", "./internal/bench/cmd/sidecarbench", "-duration", dur)
}
