package propagation_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/bench/host"
	"github.com/vertice/vertice/internal/bench/propagation"
	"github.com/vertice/vertice/internal/testkit/cluster"
	"github.com/vertice/vertice/internal/testkit/dockertest"
	"github.com/vertice/vertice/internal/testkit/poll"
)

func TestMain(m *testing.M) { os.Exit(dockertest.Main(m)) }

// The deployment's timings: short leases and heartbeats so that a trial
// takes seconds; the polling gateway keeps the v1 gateway's 5 s cache.
const (
	ttl       = 2 * time.Second
	heartbeat = 500 * time.Millisecond
	pollCache = 5 * time.Second
	pairs     = 5  // demo services with their sidecars; trials on them overlap
	rounds    = 20 // trials per pair, alternating SIGTERM and SIGKILL
	pace      = 2 * time.Millisecond
)

// Gateways under test.
const (
	following = "following the change feed"
	polling   = "polling every CACHE_TTL (5 s)"
)

// BenchmarkPropagation runs the trials once (-benchtime 1x) and writes
// the report to $BENCH_OUT (docs/bench-propagation.md from mage).
func BenchmarkPropagation(b *testing.B) {
	for range b.N {
		samples, elapsed := run(b)
		report := markdown(samples, elapsed)
		fmt.Print(report)
		if out := os.Getenv("BENCH_OUT"); out != "" {
			if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}

type deployment struct {
	c        *cluster.Cluster
	registry *cluster.Node
	gateways map[string]*cluster.Node
	pairs    []cluster.Pair
}

func deploy(tb testing.TB) *deployment {
	c := cluster.New(tb)
	c.Redis()
	env := map[string]string{"REGISTRY_TTL": ttl.String(), "LOG_LEVEL": "info"}
	d := &deployment{c: c, gateways: map[string]*cluster.Node{}}
	for i := 1; i <= 3; i++ {
		r := c.Registry(fmt.Sprintf("registry-%d", i), env)
		if d.registry == nil {
			d.registry = r
		}
	}
	gw := map[string]string{"CACHE_TTL": pollCache.String(), "LOG_LEVEL": "info", "UPSTREAM_EJECT_AFTER": "1000"}
	d.gateways[following] = c.Gateway("gateway-following", merge(gw, "REGISTRY_WATCH", "true"))
	d.gateways[polling] = c.Gateway("gateway-polling", merge(gw, "REGISTRY_WATCH", "false"))
	for i := 1; i <= pairs; i++ {
		d.pairs = append(d.pairs, c.DemoPair(i, map[string]string{"HEARTBEAT_INTERVAL": heartbeat.String(), "LOG_LEVEL": "info"}))
	}
	return d
}

func merge(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for key, val := range m {
		out[key] = val
	}
	return out
}

// run deploys, sends requests through both gateways throughout, and runs
// the trials on every pair at once, staggered.
func run(b *testing.B) ([]propagation.Sample, time.Duration) {
	d := deploy(b)
	log := propagation.NewLog()
	ctx, stop := context.WithCancel(context.Background())
	var load sync.WaitGroup
	for name, gw := range d.gateways {
		base := gw.URL()
		load.Go(func() { drive(ctx, log, name, base) })
	}
	defer func() { stop(); load.Wait() }()
	for _, p := range d.pairs {
		if err := waitRouted(log, d, p.Demo.Alias, time.Now().Add(-time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	var mu sync.Mutex
	var samples []propagation.Sample
	var trials sync.WaitGroup
	for i, p := range d.pairs {
		trials.Go(func() {
			time.Sleep(time.Duration(i) * 1500 * time.Millisecond) // stagger the pairs
			for round := range rounds {
				got, err := trial(log, d, p, round%2 == 0)
				if err != nil {
					b.Errorf("%s, round %d: %v", p.Sidecar.Alias, round, err)
					return
				}
				mu.Lock()
				samples = append(samples, got...)
				mu.Unlock()
			}
		})
	}
	trials.Wait()
	return samples, time.Since(start)
}

// drive sends one request at a time through the gateway at base, paced,
// and logs which instance answered.
func drive(ctx context.Context, log *propagation.Log, gateway, base string) {
	for ctx.Err() == nil {
		r, err := cluster.Route(base, cluster.Service, "bench")
		if err == nil && r.Instance != "" {
			log.Add(gateway, r.Instance, time.Now())
		}
		time.Sleep(pace)
	}
}

// trial stops p's sidecar (SIGTERM when graceful, else SIGKILL), measures
// when each gateway last sent p's instance a request, starts the sidecar
// again and measures when each first did after its registration.
func trial(log *propagation.Log, d *deployment, p cluster.Pair, graceful bool) ([]propagation.Sample, error) {
	inst := p.Demo.Alias
	var out []propagation.Sample
	var from time.Time
	kind := propagation.Deregistered
	if graceful {
		from = time.Now()
		p.Sidecar.Stop(10 * time.Second)
	} else {
		kind = propagation.LeaseEnded
		p.Sidecar.Kill()
		var err error
		if from, err = leaseEnd(d, p); err != nil {
			return nil, err
		}
	}
	// Both gateways must have let the instance go before it comes back:
	// the polling one within CACHE_TTL after the registry did.
	settle := from.Add(pollCache + 2*time.Second)
	time.Sleep(time.Until(settle))
	for name := range d.gateways {
		if last, ok := log.Last(name, inst, from.Add(-time.Minute), settle); ok {
			out = append(out, propagation.Sample{Kind: kind, Gateway: name, Delay: last.Sub(from)})
		}
	}
	p.Sidecar.Start()
	registeredAt, err := waitRegistered(d, p)
	if err != nil {
		return nil, err
	}
	if err := waitRouted(log, d, inst, registeredAt); err != nil {
		return nil, err
	}
	for name := range d.gateways {
		if first, ok := log.First(name, inst, registeredAt); ok {
			out = append(out, propagation.Sample{Kind: propagation.Registered, Gateway: name, Delay: first.Sub(registeredAt)})
		}
	}
	return out, nil
}

// leaseEnd is when the killed sidecar's lease ends: its last heartbeat
// (as the registry has it) plus the lease.
func leaseEnd(d *deployment, p cluster.Pair) (time.Time, error) {
	ins, err := cluster.Registered(d.registry.URL(), cluster.Service, p.Endpoint())
	if err != nil {
		return time.Time{}, fmt.Errorf("the killed sidecar's instance before its lease ends: %w", err)
	}
	return ins[0].Renewed().Add(ttl), nil
}

// waitRegistered waits for the restarted sidecar's registration and
// returns its time (registered_at).
func waitRegistered(d *deployment, p cluster.Pair) (time.Time, error) {
	var at time.Time
	err := poll.Until(context.Background(), 30*time.Second, func() error {
		ins, err := cluster.Registered(d.registry.URL(), cluster.Service, p.Endpoint())
		if err != nil {
			return err
		}
		at = registeredAt(ins[0])
		return nil
	})
	if err != nil {
		return at, fmt.Errorf("%s registers again: %w", p.Sidecar.Alias, err)
	}
	return at, nil
}

func registeredAt(in cluster.Instance) time.Time {
	sec := int64(in.RegisteredAt)
	return time.Unix(sec, int64((in.RegisteredAt-float64(sec))*1e9))
}

// waitRouted waits until both gateways have sent inst a request after since.
func waitRouted(log *propagation.Log, d *deployment, inst string, since time.Time) error {
	err := poll.Until(context.Background(), 30*time.Second, func() error {
		for name := range d.gateways {
			if _, ok := log.First(name, inst, since); !ok {
				return fmt.Errorf("not yet through the gateway %s", name)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s routed by both gateways: %w", inst, err)
	}
	return nil
}

func markdown(samples []propagation.Sample, elapsed time.Duration) string {
	var b strings.Builder
	b.WriteString("# Propagation: how soon the gateway follows the registry\n\n")
	b.WriteString("Reproduce with `go tool mage bench:propagation` (writes this file; about " +
		elapsed.Round(time.Minute).String() + ").\n\n")
	fmt.Fprintf(&b, "- date: %s; machine: %s; load average at the end %s (other work shares the CPUs)\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), host.Machine(), host.Loadavg())
	fmt.Fprintf(&b, "- deployment, in containers on one Docker network: Redis, three registry replicas behind one name "+
		"(Docker's DNS spreads the clients over them, as the compose file's load balancer does), %d demo services "+
		"with their sidecars (lease %s, heartbeat %s), and two gateways that see the same events: one %s, one %s "+
		"(REGISTRY_WATCH=false, as the v1 gateway)\n", pairs, ttl, heartbeat, following, polling)
	fmt.Fprintf(&b, "- load: one request at a time through each gateway, a request every %s or so, round robin over the "+
		"instances; a delay is measured against the request times the benchmark saw, so it is exact to the "+
		"interval between two requests to one instance (about %d × that)\n", pace, pairs)
	fmt.Fprintf(&b, "- trials: on each pair, %d rounds alternating SIGTERM of the sidecar (it deregisters) and SIGKILL (its "+
		"lease ends %s after its last heartbeat); after each, the sidecar starts again and registers. Pairs run at "+
		"once, staggered\n", rounds, ttl)
	b.WriteString("- a negative delay means the gateway stopped before the moment measured from (a lease's end is " +
		"judged from the registry's last_heartbeat)\n\n")
	b.WriteString("| measurement | gateway | trials | p50 | p99 | max | goal p99 ≤ 1 s |\n|---|---|---|---|---|---|---|\n")
	for _, kind := range []propagation.Kind{propagation.Deregistered, propagation.LeaseEnded, propagation.Registered} {
		for _, gw := range []string{following, polling} {
			var delays []time.Duration
			for _, s := range samples {
				if s.Kind == kind && s.Gateway == gw {
					delays = append(delays, s.Delay)
				}
			}
			st := propagation.Summarise(delays)
			verdict := "–"
			if gw == following {
				verdict = "NOT met"
				if st.N >= 50 && st.P99 <= time.Second {
					verdict = "met"
				}
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %s |\n", kind, gw, st.N, ms(st.P50), ms(st.P99), ms(st.Max), verdict)
		}
	}
	return b.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
