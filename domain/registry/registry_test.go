package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/memstore"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/registry"
	"github.com/vertice/vertice/ports"
	"github.com/vertice/vertice/ports/portstest"
)

func setup() (*registry.Service, *portstest.FakeClock) {
	clock := portstest.NewFakeClock(time.Unix(1761310133, 0))
	store := memstore.New(clock)
	return registry.New(store, store, clock, 0), clock
}

func reg(id string) catalog.Registration {
	return catalog.Registration{ServiceName: "nmap_service", InstanceID: id, Endpoint: "http://vertice-nmap:8047"}
}

func TestRegisterUsesDefaultTTL(t *testing.T) {
	svc, clock := setup()
	in, created, err := svc.Register(context.Background(), reg(""))
	if err != nil || !created {
		t.Fatalf("created=%v err=%v", created, err)
	}
	if in.TTL != registry.DefaultTTL || in.InstanceID != "vertice-nmap:8047" || in.TTLRemaining(clock.Now()) != 60 {
		t.Fatalf("got %+v", in)
	}
	_, created, _ = svc.Register(context.Background(), reg(""))
	if created {
		t.Fatal("second registration replaces, it does not create")
	}
}

func TestRegisterInvalidStoresNothing(t *testing.T) {
	svc, _ := setup()
	bad := reg("")
	bad.ServiceName = "Nmap-Service"
	if _, _, err := svc.Register(context.Background(), bad); err == nil {
		t.Fatal("want a validation error")
	}
	if cat, _ := svc.List(context.Background(), registry.Block{}); len(cat.Services) != 0 {
		t.Fatalf("nothing should be stored, got %v", cat.Services)
	}
}

// v1 clients register without instance_id and heartbeat by name: every
// such instance of the service is renewed.
func TestHeartbeatWithoutInstanceRenewsV1Instances(t *testing.T) {
	svc, clock := setup()
	ctx := context.Background()
	for _, host := range []string{"http://a:1", "http://b:1"} {
		if _, _, err := svc.Register(ctx, catalog.Registration{ServiceName: "nmap_service", Endpoint: host}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(50 * time.Second)
	list, err := svc.Heartbeat(ctx, "nmap_service", "")
	if err != nil || len(list) != 2 {
		t.Fatalf("renewed %d, err %v", len(list), err)
	}
	clock.Advance(50 * time.Second) // past the first leases
	if got, err := svc.Lookup(ctx, "nmap_service", registry.Block{}); err != nil || len(got.Instances) != 2 {
		t.Fatalf("both should still be live: %v %v", got.Instances, err)
	}
}

// Issue 12, item 11: instances registered with their own instance_id (one
// sidecar each) are renewed only by their own heartbeats. A name-only
// heartbeat from a v1 client of the same service must not keep a crashed
// sidecar's instance alive.
func TestNameOnlyHeartbeatDoesNotRenewOwnedInstances(t *testing.T) {
	svc, clock := setup()
	ctx := context.Background()
	if _, _, err := svc.Register(ctx, reg("crashed")); err != nil {
		t.Fatal(err)
	}
	v1 := catalog.Registration{ServiceName: "nmap_service", Endpoint: "http://v1-client:8047"}
	if _, _, err := svc.Register(ctx, v1); err != nil {
		t.Fatal(err)
	}
	for range 3 { // the v1 client keeps beating; the sidecar of "crashed" is gone
		clock.Advance(30 * time.Second)
		list, err := svc.Heartbeat(ctx, "nmap_service", "")
		if err != nil || len(list) != 1 || list[0].InstanceID != "v1-client:8047" {
			t.Fatalf("want only the v1 instance renewed, got %v %v", list, err)
		}
	}
	got, err := svc.Lookup(ctx, "nmap_service", registry.Block{})
	if err != nil || len(got.Instances) != 1 || got.Instances[0].InstanceID != "v1-client:8047" {
		t.Fatalf("the crashed instance must have expired: %v %v", got.Instances, err)
	}
	// Only owned instances left: a name-only heartbeat is told to name one.
	if _, err := svc.Deregister(ctx, "nmap_service", "v1-client:8047"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Register(ctx, reg("owned")); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Heartbeat(ctx, "nmap_service", "")
	if !errors.Is(err, ports.ErrNotFound) || !strings.Contains(err.Error(), "instance_id") {
		t.Fatalf("want a 404 saying to name the instance_id, got %v", err)
	}
	if _, err := svc.Heartbeat(ctx, "nmap_service", "owned"); err != nil {
		t.Fatalf("a heartbeat naming the instance renews it: %v", err)
	}
}

func TestHeartbeatUnknownIsNotFound(t *testing.T) {
	svc, _ := setup()
	_, err := svc.Heartbeat(context.Background(), "nmap_service", "ghost")
	var nf *registry.NotFoundError
	if !errors.Is(err, ports.ErrNotFound) || !errors.As(err, &nf) || !strings.Contains(err.Error(), "ghost") {
		t.Fatalf("want a NotFoundError naming the instance, got %v", err)
	}
	_, err = svc.Heartbeat(context.Background(), "nmap_service", "")
	if !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("got %v", err)
	}
}

func TestLookupExpiresAndPrefersHealthy(t *testing.T) {
	svc, clock := setup()
	ctx := context.Background()
	sick := reg("sick")
	sick.Metadata = map[string]string{"status": "unhealthy"}
	svc.Register(ctx, reg("well"))
	clock.Advance(time.Second)
	svc.Register(ctx, sick)
	snap, err := svc.Lookup(ctx, "nmap_service", registry.Block{})
	if err != nil || snap.Instances[0].InstanceID != "well" {
		t.Fatalf("healthy first, even if renewed earlier: %v %v", snap.Instances, err)
	}
	clock.Advance(time.Minute)
	_, err = svc.Lookup(ctx, "nmap_service", registry.Block{})
	if !errors.Is(err, ports.ErrNotFound) || !strings.Contains(err.Error(), `"nmap_service"`) {
		t.Fatalf("want not found naming the service, got %v", err)
	}
}

func TestDeregister(t *testing.T) {
	svc, _ := setup()
	ctx := context.Background()
	svc.Register(ctx, reg("a"))
	svc.Register(ctx, reg("b"))
	if n, err := svc.Deregister(ctx, "nmap_service", "a"); n != 1 || err != nil {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if n, err := svc.Deregister(ctx, "nmap_service", ""); n != 1 || err != nil {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if _, err := svc.Deregister(ctx, "nmap_service", ""); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("got %v", err)
	}
	if _, err := svc.Deregister(ctx, "Bad-Name", ""); err == nil || !strings.Contains(err.Error(), "uppercase") {
		t.Fatalf("names are validated: %v", err)
	}
}

// staleStore answers Service as a replica's copy does during a backend
// outage: with leases that have ended meanwhile.
type staleStore struct {
	ports.Store
	list []catalog.Instance
}

func (s staleStore) Service(_ context.Context, name string) (catalog.Service, error) {
	return catalog.Service{Name: name, Index: 7, Instances: s.list}, nil
}

func TestLookupDoesNotRejudgeStaleLeases(t *testing.T) {
	clock := portstest.NewFakeClock(time.Unix(1761310133, 0))
	in := catalog.NewInstance(reg("cached"), clock.Now(), 4*time.Second)
	svc := registry.New(staleStore{list: []catalog.Instance{in}}, nil, clock, 4*time.Second)
	clock.Advance(10 * time.Second) // the lease ended during the outage
	snap, err := svc.Lookup(context.Background(), "nmap_service", registry.Block{})
	if err != nil || len(snap.Instances) != 1 || snap.Instances[0].InstanceID != "cached" {
		t.Fatalf("a stale read served by the store must reach the caller: %v %v", snap.Instances, err)
	}
}
