package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The sidecar's RSS budget (docs/bench-sidecar.md) rests on what its binary
// links, since a small process keeps nearly all of its binary's pages
// resident: net/http and crypto/tls it needs, but not the registry's or the
// gateway's server side (gin, go-redis, the reverse proxy), nor the
// Prometheus client and the protobuf runtime it brings (2.5 MB; metrics.go
// says why the six values are written by hand).
func TestBinaryLinksOnlyWhatItNeeds(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/vertice/vertice/apps/sidecar").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, banned := range []string{
			"github.com/gin-gonic/", "github.com/redis/go-redis/", "github.com/prometheus/", "google.golang.org/protobuf/",
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
