// Package flow runs the happy paths across real containers: Redis, two
// registry replicas, two demo services with their sidecars and the
// gateway, from the images the project builds. A sidecar registers its
// service, both replicas (one shared Redis) list it, the gateway routes to
// it and spreads requests over the instances, and a sidecar stopped with
// SIGTERM takes its instance out at once, not a lease later.
package flow

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/testkit/cluster"
	"github.com/vertice/vertice/internal/testkit/dockertest"
	"github.com/vertice/vertice/internal/testkit/poll"
)

func TestMain(m *testing.M) { os.Exit(dockertest.Main(m)) }

// ttl is long here so that an instance gone within seconds was
// deregistered, not expired.
const ttl = 60 * time.Second

func TestFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts eight containers")
	}
	c := cluster.New(t)
	c.Redis()
	regEnv := map[string]string{"REGISTRY_TTL": ttl.String()}
	registries := []*cluster.Node{c.Registry("registry-1", regEnv), c.Registry("registry-2", regEnv)}
	pairs := []cluster.Pair{c.DemoPair(1, nil), c.DemoPair(2, nil)}
	gw := c.Gateway("gateway", nil)
	endpoints := []string{pairs[0].Endpoint(), pairs[1].Endpoint()}

	t.Run("RegisterDiscover", func(t *testing.T) {
		took := poll.Eventually(t, 15*time.Second, "both instances on every replica", func() error {
			for _, r := range registries {
				ins, err := cluster.Registered(r.URL(), cluster.Service, endpoints...)
				if err != nil {
					return fmt.Errorf("%s: %w", r.Alias, err)
				}
				for _, in := range ins {
					if in.Metadata["status"] != "healthy" || in.TTLRemaining <= 0 {
						return fmt.Errorf("%s: %+v", r.Alias, in)
					}
				}
			}
			return nil
		})
		t.Logf("registered and listed by both replicas %s after the sidecars started", took.Round(time.Millisecond))
		r, err := cluster.Get(registries[1].URL() + "/services")
		if err != nil || r.Code != http.StatusOK || !strings.Contains(r.Body, `"`+cluster.Service+`"`) {
			t.Fatalf("GET /services: %d %s %v", r.Code, r.Body, err)
		}
	})

	t.Run("RouteThroughGateway", func(t *testing.T) {
		r, err := cluster.Get(gw.URL() + "/v2/" + cluster.Service + "/echo/a/b?x=1")
		if err != nil || r.Code != http.StatusOK {
			t.Fatalf("gateway: %d %s %v", r.Code, r.Body, err)
		}
		for _, want := range []string{`"path":"/echo/a/b"`, `"query":"x=1"`, `"method":"GET"`} {
			if !strings.Contains(r.Body, want) {
				t.Errorf("gateway answer %s lacks %s", r.Body, want)
			}
		}
		if r, _ := cluster.Get(gw.URL() + "/v2/no_such_service/x"); r.Code != http.StatusNotFound {
			t.Errorf("unknown service: %d %s, want 404", r.Code, r.Body)
		}
	})

	t.Run("LoadShared", func(t *testing.T) {
		const n = 40
		seen := map[string]int{}
		for i := range n {
			r, err := cluster.Route(gw.URL(), cluster.Service, fmt.Sprint(i))
			if err != nil || r.Code != http.StatusOK {
				t.Fatalf("request %d: %d %s %v", i, r.Code, r.Body, err)
			}
			seen[r.Instance]++
		}
		t.Logf("%d requests through the gateway: %v", n, seen)
		for _, p := range pairs {
			if seen[p.Demo.Alias] < n/4 {
				t.Errorf("%s answered %d of %d requests; round robin over two instances gives each about half",
					p.Demo.Alias, seen[p.Demo.Alias], n)
			}
		}
	})

	t.Run("GracefulStopDeregisters", func(t *testing.T) {
		stopped := pairs[1]
		start := time.Now()
		stopped.Sidecar.Stop(10 * time.Second) // SIGTERM
		if code := stopped.Sidecar.ExitCode(); code != 0 {
			t.Errorf("sidecar exit code after SIGTERM: %d, want 0", code)
		}
		poll.Eventually(t, 3*time.Second, "instance gone from both replicas", func() error {
			for _, r := range registries {
				l, err := cluster.LookupService(r.URL(), cluster.Service)
				if err != nil {
					return err
				}
				if _, ok := l.Find(stopped.Endpoint()); ok {
					return fmt.Errorf("%s still lists %s", r.Alias, stopped.Endpoint())
				}
				if _, ok := l.Find(pairs[0].Endpoint()); !ok {
					return fmt.Errorf("%s lost %s: %d %s", r.Alias, pairs[0].Endpoint(), l.Code, l.Body)
				}
			}
			return nil
		})
		t.Logf("instance gone %s after docker stop began (lease %s)", time.Since(start).Round(time.Millisecond), ttl)
		// The gateway follows within its cache TTL; then only demo-1 answers.
		poll.Eventually(t, cluster.CacheTTL+3*time.Second, "gateway routes only to the remaining instance", func() error {
			for i := range 6 {
				r, err := cluster.Route(gw.URL(), cluster.Service, fmt.Sprint(i))
				if err != nil || r.Code != http.StatusOK || r.Instance != pairs[0].Demo.Alias {
					return fmt.Errorf("request %d: %d %q %v", i, r.Code, r.Instance, err)
				}
			}
			return nil
		})
	})
}
