package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The sidecar's footprint (docs/bench-sidecar.md) rests on what its binary
// links: net/http, crypto/tls and the Prometheus client it needs, but none
// of the registry's or the gateway's server side (gin, go-redis, the
// reverse proxy), each of which would add megabytes of pages.
func TestBinaryLinksNoServerSide(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/vertice/vertice/apps/sidecar").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	for _, pkg := range deps {
		for _, banned := range []string{
			"github.com/gin-gonic/", "github.com/redis/go-redis/", "github.com/prometheus/client_golang/prometheus/collectors",
			"github.com/vertice/vertice/adapters/ginapi", "github.com/vertice/vertice/adapters/proxy",
			"github.com/vertice/vertice/adapters/redisstore", "github.com/vertice/vertice/adapters/memstore",
			"net/http/httputil", "database/sql",
		} {
			if strings.HasPrefix(pkg, banned) {
				t.Errorf("the sidecar binary links %s", pkg)
			}
		}
	}
}
