package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/registry"
	"github.com/vertice/vertice/ports"
)

func TestRegisterForHonoursTheLeaseAskedFor(t *testing.T) {
	svc, clock := setup()
	ctx := context.Background()
	in, created, err := svc.RegisterFor(ctx, reg("a"), 5*time.Second)
	if err != nil || !created || in.TTL != 5*time.Second {
		t.Fatalf("created=%v ttl=%s err=%v", created, in.TTL, err)
	}
	clock.Advance(4 * time.Second)
	if _, err := svc.Heartbeat(ctx, "nmap_service", "a"); err != nil {
		t.Fatalf("renewal within the lease: %v", err)
	}
	clock.Advance(4 * time.Second) // the renewal restarted a 5 s lease, not the registry's 60 s
	if _, err := svc.Lookup(ctx, "nmap_service", registry.Block{}); err != nil {
		t.Fatalf("still live 4 s after the renewal: %v", err)
	}
	clock.Advance(2 * time.Second)
	if _, err := svc.Lookup(ctx, "nmap_service", registry.Block{}); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("the 5 s lease must have ended, got %v", err)
	}
	if in, _, _ := svc.RegisterFor(ctx, reg("b"), 0); in.TTL != registry.DefaultTTL {
		t.Fatalf("zero means the registry's lease, got %s", in.TTL)
	}
	for _, bad := range []time.Duration{500 * time.Millisecond, 2 * time.Hour, -time.Second} {
		_, _, err := svc.RegisterFor(ctx, reg("c"), bad)
		var fe *catalog.FieldError
		if !errors.As(err, &fe) || fe.Field != "ttl" || !strings.Contains(fe.Rule, "from 1s to 1h0m0s") {
			t.Errorf("ttl %s: want a ttl FieldError naming the bounds, got %v", bad, err)
		}
	}
	if _, err := svc.Lookup(ctx, "nmap_service", registry.Block{}); err != nil {
		t.Fatalf("b is live: %v", err)
	}
	if got, _ := svc.Locate(ctx, "c"); len(got) != 0 {
		t.Fatal("a refused lease stored an instance")
	}
}

func TestReportRenewsAndMovesTheIndexOnlyOnAChange(t *testing.T) {
	svc, clock := setup()
	ctx := context.Background()
	r := reg("a")
	r.Metadata = map[string]string{"version": "1"}
	if _, _, err := svc.RegisterFor(ctx, r, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	index := func() uint64 {
		t.Helper()
		s, err := svc.Lookup(ctx, "nmap_service", registry.Block{})
		if err != nil {
			t.Fatal(err)
		}
		return s.Index
	}
	start := index()
	clock.Advance(8 * time.Second)
	in, err := svc.Report(ctx, "nmap_service", "a", catalog.StatusHealthy)
	if err != nil || !in.LastHeartbeat.Equal(clock.Now()) {
		t.Fatalf("a report renews: %+v %v", in, err)
	}
	if index() != start {
		t.Fatal("reporting the status it already has moved the index (it would wake every watcher)")
	}
	clock.Advance(time.Second)
	for _, st := range []string{catalog.StatusWarning, catalog.StatusUnhealthy, catalog.StatusHealthy} {
		before := index()
		in, err := svc.Report(ctx, "nmap_service", "a", st)
		if err != nil || in.Metadata[catalog.StatusKey] != st || in.Metadata["version"] != "1" {
			t.Fatalf("report %s: %+v %v", st, in.Metadata, err)
		}
		snap, _ := svc.Lookup(ctx, "nmap_service", registry.Block{})
		if snap.Index <= before || registry.StatusOf(snap.Instances[0]) != st || snap.Instances[0].TTL != 10*time.Second {
			t.Fatalf("after %s: index %d (was %d), stored %+v", st, snap.Index, before, snap.Instances[0])
		}
	}
	clock.Advance(9 * time.Second) // the last report renewed the 10 s lease
	if _, err := svc.Lookup(ctx, "nmap_service", registry.Block{}); err != nil {
		t.Fatalf("renewed by the report: %v", err)
	}
	if _, err := svc.Report(ctx, "nmap_service", "nope", catalog.StatusHealthy); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("unknown instance: want not found, got %v", err)
	}
	var fe *catalog.FieldError
	if _, err := svc.Report(ctx, "nmap_service", "a", "sick"); !errors.As(err, &fe) || fe.Field != "status" {
		t.Fatalf("bad status: want a status FieldError, got %v", err)
	}
}

func TestLocateFindsAnIDInEveryService(t *testing.T) {
	svc, _ := setup()
	ctx := context.Background()
	for _, name := range []string{"b_service", "a_service"} {
		if _, _, err := svc.Register(ctx, catalog.Registration{ServiceName: name, InstanceID: "x1", Endpoint: "http://h:1"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := svc.Register(ctx, catalog.Registration{ServiceName: "c_service", InstanceID: "y", Endpoint: "http://h:1"}); err != nil {
		t.Fatal(err)
	}
	got, err := svc.Locate(ctx, "x1")
	if err != nil || len(got) != 2 || got[0].ServiceName != "a_service" || got[1].ServiceName != "b_service" {
		t.Fatalf("got %+v, %v", got, err)
	}
	if got, err := svc.Locate(ctx, "zzz"); err != nil || len(got) != 0 {
		t.Fatalf("unknown ID: %+v, %v", got, err)
	}
	var fe *catalog.FieldError
	if _, err := svc.Locate(ctx, "bad/id"); !errors.As(err, &fe) {
		t.Fatalf("bad ID: want a FieldError, got %v", err)
	}
}
