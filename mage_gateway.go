//go:build mage

package main

import (
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
	if err := aptTools("bench:gateway", map[string]string{
		"/usr/sbin/nginx": "nginx-light", "wrk": "wrk", "taskset": "util-linux"}); err != nil {
		return err
	}
	return sh.RunV("go", "run", "./internal/bench/cmd/gatewaybench",
		"-gateway", "bin/vertice-gateway", "-nginx", "/usr/sbin/nginx", "-out", "docs/bench-gateway.md")
}
