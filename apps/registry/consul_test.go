package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/consul/api/watch"
	"github.com/hashicorp/go-hclog"

	"github.com/vertice/vertice/internal/testkit/dockertest"
)

// Issue 17's acceptance: the real hashicorp/consul/api client (and its
// watch package) drives the wired registry, on memory and on Redis with
// two replicas, writes going through one replica and reads through the
// other. A change must reach a blocked reader on the other replica within
// consulBound (generous slack on the 100 ms promise).

const consulBound = time.Second

func TestConsulClientOnMemory(t *testing.T) {
	base := startRegistry(t, registryEnv(""))
	runConsulClient(t, base, base)
}

func TestConsulClientOnRedisAcrossReplicas(t *testing.T) {
	url := "redis://" + dockertest.StartRedis(t).MustAddr(t)
	runConsulClient(t, startRegistry(t, registryEnv(url)), startRegistry(t, registryEnv(url)))
}

func consulClient(t *testing.T, base string) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: strings.TrimPrefix(base, "http://"), Scheme: "http"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// eventually polls check until it returns nil or bound passes.
func eventually(t *testing.T, bound time.Duration, what string, check func() error) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		err := check()
		if err == nil {
			return time.Since(start)
		}
		if time.Since(start) > bound {
			t.Fatalf("%s: not within %s: %v", what, bound, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// instancesOf is the service's entries as reader sees them: ID=status.
func instancesOf(t *testing.T, reader *api.Client, service string, passingOnly bool) []string {
	t.Helper()
	entries, _, err := reader.Health().Service(service, "", passingOnly, nil)
	if err != nil {
		t.Fatalf("health/service %s: %v", service, err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Service.ID+"="+e.Checks.AggregatedStatus())
	}
	return out
}

func showsExactly(t *testing.T, reader *api.Client, service string, passingOnly bool, want ...string) func() error {
	return func() error {
		if got := instancesOf(t, reader, service, passingOnly); !slices.Equal(got, want) {
			return fmt.Errorf("%s lists %v, want %v", service, got, want)
		}
		return nil
	}
}

func runConsulClient(t *testing.T, writeTo, readFrom string) {
	w, r := consulClient(t, writeTo), consulClient(t, readFrom)
	agent := w.Agent()

	self, err := r.Agent().Self()
	if err != nil || self["Config"]["Datacenter"] != "dc1" {
		t.Fatalf("agent/self: %v %v", self, err)
	}

	// Register with a TTL check: critical until it passes, as on Consul.
	err = agent.ServiceRegister(&api.AgentServiceRegistration{
		ID: "web-1", Name: "web", Address: "127.0.0.1", Port: 8080, Tags: []string{"v1", "traefik.enable=true"},
		Meta: map[string]string{"version": "1.0"}, Check: &api.AgentServiceCheck{TTL: "10s"},
	})
	if err != nil {
		t.Fatalf("ServiceRegister: %v", err)
	}
	eventually(t, consulBound, "the registration on the other replica", showsExactly(t, r, "web", false, "web-1=critical"))
	if err := agent.PassTTL("service:web-1", "ok"); err != nil {
		t.Fatalf("PassTTL: %v", err)
	}
	eventually(t, consulBound, "the pass on the other replica", showsExactly(t, r, "web", true, "web-1=passing"))
	if err := agent.UpdateTTL("service:web-1", "slow disk", api.HealthWarning); err != nil {
		t.Fatalf("UpdateTTL warn: %v", err)
	}
	eventually(t, consulBound, "the warning on the other replica", showsExactly(t, r, "web", false, "web-1=warning"))
	eventually(t, consulBound, "passing-only leaves a warning out", showsExactly(t, r, "web", true))

	services, meta, err := r.Catalog().Services(nil)
	if err != nil || strings.Join(services["web"], ",") != "traefik.enable=true,v1" || meta.LastIndex < 1 || !meta.KnownLeader {
		t.Fatalf("Catalog().Services: %v %+v %v", services, meta, err)
	}
	entries, _, err := r.Health().Service("web", "traefik.enable=true", false, nil)
	if err != nil || len(entries) != 1 || entries[0].Service.Port != 8080 || entries[0].Service.Meta["version"] != "1.0" {
		t.Fatalf("Health().Service with a tag: %+v %v", entries, err)
	}
	if entries, _, _ := r.Health().Service("web", "v2", false, nil); len(entries) != 0 {
		t.Fatalf("a tag no instance has: %+v", entries)
	}

	// A blocking query on the other replica returns within consulBound of
	// the change.
	_, meta, err = r.Health().Service("web", "", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		entries []*api.ServiceEntry
		meta    *api.QueryMeta
		err     error
		at      time.Time
	}
	done := make(chan result, 1)
	go func() {
		e, m, err := r.Health().Service("web", "", false, &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 30 * time.Second})
		done <- result{e, m, err, time.Now()}
	}()
	select {
	case res := <-done:
		t.Fatalf("the blocking query answered before any change: %+v", res)
	case <-time.After(300 * time.Millisecond):
	}
	changed := time.Now() // before the write: the bound covers the write's own round trip too
	if err := agent.UpdateTTL("service:web-1", "", "pass"); err != nil {
		t.Fatalf("UpdateTTL pass: %v", err)
	}
	select {
	case res := <-done:
		if res.err != nil || res.meta.LastIndex <= meta.LastIndex || len(res.entries) != 1 ||
			res.entries[0].Checks.AggregatedStatus() != api.HealthPassing {
			t.Fatalf("blocking query: %+v %+v %v", res.entries, res.meta, res.err)
		}
		if took := res.at.Sub(changed); took > consulBound {
			t.Fatalf("the blocked reader saw the change %s after it was made, want within %s", took, consulBound)
		} else {
			t.Logf("a change through one replica woke a reader on %s after %s", readFrom, took)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the blocking query did not return after the change")
	}

	// An api/watch plan of type service fires on a change.
	fired := make(chan []string, 16)
	plan, err := watch.Parse(map[string]any{"type": "service", "service": "web"})
	if err != nil {
		t.Fatal(err)
	}
	plan.Handler = func(_ uint64, raw any) {
		var ids []string
		for _, e := range raw.([]*api.ServiceEntry) {
			ids = append(ids, e.Service.ID)
		}
		fired <- ids
	}
	go func() { _ = plan.RunWithClientAndHclog(r, hclog.NewNullLogger()) }()
	t.Cleanup(plan.Stop)
	select {
	case ids := <-fired:
		if !slices.Equal(ids, []string{"web-1"}) {
			t.Fatalf("the watch's first answer: %v", ids)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watch plan never fired")
	}
	registered := time.Now()
	if err := agent.ServiceRegister(&api.AgentServiceRegistration{ID: "web-2", Name: "web", Address: "127.0.0.2", Port: 8080,
		Check: &api.AgentServiceCheck{TTL: "10s", Status: api.HealthPassing}}); err != nil {
		t.Fatal(err)
	}
	select {
	case ids := <-fired:
		if !slices.Equal(ids, []string{"web-1", "web-2"}) {
			t.Fatalf("the watch fired with %v, want web-1 and web-2", ids)
		}
		if took := time.Since(registered); took > consulBound {
			t.Fatalf("the watch fired %s after the change, want within %s", took, consulBound)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watch plan did not fire on a new instance")
	}

	// Leases: web-3 passes once and then stops; it leaves when its TTL
	// ends (the promise: within a second of the lease's end).
	if err := agent.ServiceRegister(&api.AgentServiceRegistration{ID: "web-3", Name: "web", Address: "127.0.0.3", Port: 8080,
		Check: &api.AgentServiceCheck{TTL: "2s"}}); err != nil {
		t.Fatal(err)
	}
	lastPass := time.Now() // before the pass: its lease ends 2 s after the registry renewed it, not before this
	if err := agent.PassTTL("service:web-3", ""); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"service:web-1", "service:web-2"} {
		if err := agent.PassTTL(id, ""); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, consulBound, "web-3 passing", showsExactly(t, r, "web", true, "web-1=passing", "web-2=passing", "web-3=passing"))
	eventually(t, 2*time.Second+2*consulBound, "web-3's lease ending", showsExactly(t, r, "web", false, "web-1=passing", "web-2=passing"))
	if gone := time.Since(lastPass); gone < 2*time.Second {
		t.Fatalf("web-3 left %s after its last pass, before its 2 s TTL", gone)
	}
	if err := agent.PassTTL("service:web-3", ""); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("a pass after the lease ended: want a 404, got %v", err)
	}

	// Deregistration.
	if err := agent.ServiceDeregister("web-1"); err != nil {
		t.Fatalf("ServiceDeregister: %v", err)
	}
	eventually(t, consulBound, "the deregistration on the other replica", showsExactly(t, r, "web", false, "web-2=passing"))
	if err := agent.ServiceDeregister("web-2"); err != nil {
		t.Fatal(err)
	}
	eventually(t, consulBound, "the service gone from the catalog", func() error {
		services, _, err := r.Catalog().Services(nil)
		if err != nil || len(services) != 0 {
			return fmt.Errorf("%v %v", services, err)
		}
		return nil
	})
}
