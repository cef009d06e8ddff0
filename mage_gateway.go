//go:build mage

package main

import (
	"fmt"
	"os"
	"os/exec"

	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"
)

// Gateway compares requests/s and p50/p99 of a small upstream reached
// directly, through vertice-gateway and through nginx, all on 127.0.0.1
// (bounded: 2 concurrency levels × 3 paths × (2 s warm-up + 10 s)), prints
// the table and writes docs/bench-gateway.md. Needs Debian's nginx-light
// and wrk, installed with apt-get when missing and running as root.
func (Bench) Gateway() error {
	mg.Deps(Build)
	if err := gatewayBenchTools(); err != nil {
		return err
	}
	return sh.RunV("go", "run", "./internal/gatewaybench/cmd/gatewaybench",
		"-gateway", "bin/vertice-gateway", "-nginx", "/usr/sbin/nginx", "-out", "docs/bench-gateway.md")
}

// gatewayBenchTools makes sure nginx and wrk are installed.
func gatewayBenchTools() error {
	_, nginxErr := os.Stat("/usr/sbin/nginx")
	_, wrkErr := exec.LookPath("wrk")
	_, tasksetErr := exec.LookPath("taskset")
	if nginxErr == nil && wrkErr == nil && tasksetErr == nil {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("bench:gateway needs nginx, wrk and taskset: apt-get install -y nginx-light wrk util-linux")
	}
	if err := sh.RunV("apt-get", "install", "-y", "--no-install-recommends", "nginx-light", "wrk", "util-linux"); err != nil {
		if err := sh.RunV("apt-get", "update"); err != nil {
			return err
		}
		return sh.RunV("apt-get", "install", "-y", "--no-install-recommends", "nginx-light", "wrk", "util-linux")
	}
	return nil
}
