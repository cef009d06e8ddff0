package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The sidecar's RSS budget (issue #4) rests on its binary staying small:
// net/http would bring crypto/tls and x509 back and double it
// (docs/bench-sidecar.md). Tests may use net/http; the binary may not.
func TestBinaryLinksNoNetHTTP(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/vertice/vertice/apps/sidecar").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		switch pkg {
		case "net/http", "crypto/tls", "crypto/x509", "github.com/gin-gonic/gin", "github.com/prometheus/client_golang/prometheus":
			t.Errorf("the sidecar binary links %s", pkg)
		}
	}
}
