package chaos

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/testkit/cluster"
	"github.com/vertice/vertice/internal/testkit/poll"
)

func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

func endpoints(pairs []cluster.Pair) []string {
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = p.Endpoint()
	}
	return out
}

// registered checks that the registry lists every pair's instance,
// answering within hangGuard.
func registered(reg *cluster.Node, pairs ...cluster.Pair) ([]cluster.Instance, error) {
	start := time.Now()
	ins, err := cluster.Registered(reg.URL(), cluster.Service, endpoints(pairs)...)
	if took := time.Since(start); err == nil && took > hangGuard {
		err = fmt.Errorf("lookup took %s (hang guard %s)", took, hangGuard)
	}
	return ins, err
}

// registrationBound covers a sidecar's start: the first probe, one
// registration, container scheduling.
const registrationBound = 15 * time.Second

func waitRegistered(t *testing.T, reg *cluster.Node, pairs ...cluster.Pair) time.Duration {
	t.Helper()
	return waitRegisteredWithin(t, reg, registrationBound, pairs...)
}

func waitRegisteredWithin(t *testing.T, reg *cluster.Node, within time.Duration, pairs ...cluster.Pair) time.Duration {
	t.Helper()
	return poll.Eventually(t, within, "registered in "+reg.Alias, func() error {
		_, err := registered(reg, pairs...)
		return err
	})
}

// renewedSince checks every pair's instance had a heartbeat (or a
// registration) after since.
func renewedSince(reg *cluster.Node, since time.Time, pairs ...cluster.Pair) error {
	ins, err := registered(reg, pairs...)
	if err != nil {
		return err
	}
	for _, in := range ins {
		if in.Renewed().Before(since) {
			return fmt.Errorf("%s last renewed %s before %s", in.Endpoint, since.Sub(in.Renewed()).Round(time.Millisecond), since.Format("15:04:05.000"))
		}
	}
	return nil
}

// waitStatus waits until the pair's instance carries metadata status.
func waitStatus(t *testing.T, reg *cluster.Node, p cluster.Pair, status string, within time.Duration) time.Duration {
	t.Helper()
	return poll.Eventually(t, within, "instance "+status+" in the registry", func() error {
		ins, err := registered(reg, p)
		if err != nil {
			return err
		}
		if got := ins[0].Metadata["status"]; got != status {
			return fmt.Errorf("metadata status %q", got)
		}
		return nil
	})
}

// wantCode checks the lookup of the demo service answers code.
func wantCode(reg *cluster.Node, code int) error {
	l, err := cluster.LookupService(reg.URL(), cluster.Service)
	if err != nil {
		return err
	}
	if l.Code != code {
		return fmt.Errorf("lookup %d %s, want %d", l.Code, l.Body, code)
	}
	return nil
}

// waitRouted waits until the gateway answers 200 from instance want (any
// instance when want is empty).
func waitRouted(t *testing.T, gw *cluster.Node, want string, within time.Duration) time.Duration {
	t.Helper()
	return poll.Eventually(t, within, "gateway routes to "+want, func() error {
		r, err := cluster.Route(gw.URL(), cluster.Service, "chaos")
		if err != nil || r.Code != http.StatusOK || (want != "" && r.Instance != want) {
			return fmt.Errorf("%d %q %v", r.Code, r.Instance, err)
		}
		return nil
	})
}

// routedTo sends one request through the gateway and expects 200 from
// want. A 200 from one of the instances in meanwhile is an error to retry;
// anything else fails the test, since users must see no error.
func routedTo(t *testing.T, gw *cluster.Node, want string, meanwhile ...string) error {
	t.Helper()
	r, err := cluster.Route(gw.URL(), cluster.Service, "chaos")
	if err != nil || r.Code != http.StatusOK || r.Took > hangGuard {
		t.Fatalf("gateway: %d in %s %v (%s), want 200 from %s", r.Code, r.Took, err, r.Body, want)
	}
	if r.Instance == want {
		return nil
	}
	if slices.Contains(meanwhile, r.Instance) {
		return fmt.Errorf("answered by %s", r.Instance)
	}
	t.Fatalf("gateway routed to %s, want %s", r.Instance, want)
	return nil
}

// gatewayRefuses expects a fast 502 or 503: a dead instance must not hang
// the client.
func gatewayRefuses(t *testing.T, gw *cluster.Node) error {
	t.Helper()
	r, err := cluster.Route(gw.URL(), cluster.Service, "chaos")
	if err != nil || r.Took > hangGuard {
		t.Fatalf("gateway request to a dead service took %s: %v (hang guard %s)", r.Took, err, hangGuard)
	}
	if r.Code != http.StatusBadGateway && r.Code != http.StatusServiceUnavailable {
		return fmt.Errorf("gateway answered %d from %q", r.Code, r.Instance)
	}
	return nil
}

// gatewayHealth checks the gateway's /health says status and fragments.
func gatewayHealth(gw *cluster.Node, status string, fragments ...string) error {
	r, err := cluster.Get(gw.URL() + "/health")
	if err != nil {
		return err
	}
	return healthSays(gw, r, status, fragments...)
}

// registryHealth checks the registry's /health says status; a /health
// slower than hangGuard fails the test.
func registryHealth(t *testing.T, reg *cluster.Node, status string) error {
	t.Helper()
	r, err := cluster.Get(reg.URL() + "/health")
	if err != nil || r.Took > hangGuard {
		t.Fatalf("registry /health took %s: %v (hang guard %s)", r.Took, err, hangGuard)
	}
	return healthSays(reg, r, status)
}

func healthSays(n *cluster.Node, r cluster.Response, status string, fragments ...string) error {
	for _, f := range append([]string{`"status":"` + status + `"`}, fragments...) {
		if !strings.Contains(r.Body, f) {
			return fmt.Errorf("%s /health: %d %s, want %s", n.Alias, r.Code, r.Body, f)
		}
	}
	return nil
}

func metric(t *testing.T, url, series string) float64 {
	t.Helper()
	v, err := cluster.Metric(url, series)
	if err != nil {
		t.Fatalf("metric %s: %v", series, err)
	}
	return v
}

// traffic sends requests through the gateway every 50 ms from a goroutine
// until stopped, for at most trafficMax.
type traffic struct {
	stopc chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	st    trafficStats
}

const trafficMax = 2 * time.Minute

type trafficStats struct {
	total, ok, hung int
	codes           map[int]int
	slowest         time.Duration
}

func (s trafficStats) String() string {
	return fmt.Sprintf("%d requests, %d × 200, other statuses %v, %d hung, slowest %s",
		s.total, s.ok, s.codes, s.hung, ms(s.slowest))
}

func startTraffic(gw *cluster.Node) *traffic {
	tr := &traffic{stopc: make(chan struct{}), done: make(chan struct{}), st: trafficStats{codes: map[int]int{}}}
	base := gw.URL()
	go func() {
		defer close(tr.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		end := time.After(trafficMax)
		for {
			select {
			case <-tr.stopc:
				return
			case <-end:
				return
			case <-tick.C:
			}
			r, err := cluster.Route(base, cluster.Service, "traffic")
			tr.mu.Lock()
			tr.st.total++
			tr.st.slowest = max(tr.st.slowest, r.Took)
			switch {
			case err != nil:
				tr.st.hung++
			case r.Code == http.StatusOK:
				tr.st.ok++
			default:
				tr.st.codes[r.Code]++
			}
			tr.mu.Unlock()
		}
	}()
	return tr
}

func (tr *traffic) stop() trafficStats {
	close(tr.stopc)
	<-tr.done
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.st
}
