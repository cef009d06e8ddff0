//go:build mage

package main

import "github.com/magefile/mage/sh"

// Chaos runs the container suites on their own: the e2e happy paths and
// the FASE 7 chaos cases (docs/chaos.md). The images are built from the
// working tree on first use; the chaos cases take about a minute and a
// half on a 2-CPU machine.
func (Test) Chaos() error {
	return sh.RunWithV(testEnv, "go", "test", "-count=1", "-v", "-timeout", "30m", "./chaos/...", "./e2e/...")
}
