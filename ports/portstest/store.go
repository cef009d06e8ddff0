package portstest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
)

// NewStore builds an empty store judging expiry by clock. It is called once
// per subtest; stores must not see each other's data.
type NewStore func(t *testing.T, clock ports.Clock) ports.Store

const leaseTTL = 60 * time.Second

// RunStore is the contract every ports.Store adapter must pass.
func RunStore(t *testing.T, newStore NewStore) {
	cases := []struct {
		name string
		run  func(*testing.T, ports.Store, *FakeClock)
	}{
		{"RegisterThenLookup", testRegisterThenLookup},
		{"ReRegisterReplaces", testReRegisterReplaces},
		{"RenewExtendsLease", testRenewExtendsLease},
		{"RenewUnknownIsNotFound", testRenewUnknown},
		{"ExpiryHidesInstance", testExpiry},
		{"ServicesSorted", testServicesSorted},
		{"DeleteOneAndAll", testDelete},
		{"SeveralInstancesPerName", testSeveralInstances},
		{"MetadataRoundTrip", testMetadataRoundTrip},
		{"DefaultIDRoundTrip", testDefaultIDRoundTrip},
		{"TagsRoundTrip", testTagsRoundTrip},
		{"OwnTTLRoundTrip", testOwnTTL},
		{"Concurrent", testConcurrent},
		{"IndexesMoveOnChangesOnly", testIndexes},
		{"CatalogIndexMovesWhenServicesComeAndGo", testCatalogIndex},
		{"ReapMovesIndex", testReapMovesIndex},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Start near real time: stores that also set backend TTLs
			// (Redis) must see sane absolute times.
			clock := NewFakeClock(time.Now().Truncate(time.Millisecond))
			c.run(t, newStore(t, clock), clock)
		})
	}
}

func inst(clock ports.Clock, service, id string) catalog.Instance {
	return catalog.NewInstance(catalog.Registration{
		ServiceName:    service,
		InstanceID:     id,
		Endpoint:       "http://" + id + ":8080",
		HealthEndpoint: "/health",
		Metadata:       map[string]string{"version": "1.0.0"},
	}, clock.Now(), leaseTTL)
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func put(t *testing.T, s ports.Store, in catalog.Instance) bool {
	t.Helper()
	return putChange(t, s, in).Created
}

func putChange(t *testing.T, s ports.Store, in catalog.Instance) catalog.Change {
	t.Helper()
	ch, err := s.Put(context.Background(), in)
	noErr(t, err)
	if ch.Index <= ch.Prev {
		t.Fatalf("Put's change %+v: the index must move forward", ch)
	}
	return ch
}

func renew(t *testing.T, s ports.Store, service, id string) catalog.Instance {
	t.Helper()
	in, err := s.Renew(context.Background(), service, id)
	noErr(t, err)
	return in
}

func lookup(t *testing.T, s ports.Store, service string) catalog.Service {
	t.Helper()
	snap, err := s.Service(context.Background(), service)
	noErr(t, err)
	if snap.Name != service || snap.Index == 0 {
		t.Fatalf("Service(%q) = name %q index %d: want the name asked for and an index >= 1", service, snap.Name, snap.Index)
	}
	return snap
}

func instances(t *testing.T, s ports.Store, service string) []catalog.Instance {
	t.Helper()
	list := lookup(t, s, service).Instances
	if len(list) == 0 {
		t.Fatalf("want live instances of %s, got none", service)
	}
	return list
}

// wantAbsent checks that service has no live instance.
func wantAbsent(t *testing.T, s ports.Store, service string) {
	t.Helper()
	if snap := lookup(t, s, service); snap.Found() {
		t.Fatalf("want no live instance of %s, got %d", service, len(snap.Instances))
	}
}

func readCatalog(t *testing.T, s ports.Store) catalog.Catalog {
	t.Helper()
	cat, err := s.Catalog(context.Background())
	noErr(t, err)
	return cat
}

func services(t *testing.T, s ports.Store) []string {
	t.Helper()
	return readCatalog(t, s).Names()
}

func del(t *testing.T, s ports.Store, service, id string) int {
	t.Helper()
	ch, err := s.Delete(context.Background(), service, id)
	noErr(t, err)
	if ch.Index <= ch.Prev {
		t.Fatalf("Delete's change %+v: the index must move forward", ch)
	}
	return ch.Removed
}

func wantNotFound(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
}

func one(t *testing.T, s ports.Store, service string) catalog.Instance {
	t.Helper()
	list := instances(t, s, service)
	if len(list) != 1 {
		t.Fatalf("want 1 instance of %s, got %d", service, len(list))
	}
	return list[0]
}

func testRegisterThenLookup(t *testing.T, s ports.Store, clock *FakeClock) {
	ctx := context.Background()
	in := inst(clock, "nmap_service", "a")
	if created := put(t, s, in); !created {
		t.Fatal("first Put should report created")
	}
	got := one(t, s, "nmap_service")
	if got.Endpoint != in.Endpoint || got.HealthEndpoint != "/health" || got.InstanceID != "a" {
		t.Fatalf("stored %+v, got back %+v", in, got)
	}
	if !got.RegisteredAt.Equal(in.RegisteredAt) || !got.LastHeartbeat.Equal(in.LastHeartbeat) || got.TTL != leaseTTL {
		t.Fatalf("times not kept: put %+v got %+v", in, got)
	}
	wantAbsent(t, s, "other_service")
	_ = ctx
}

func testReRegisterReplaces(t *testing.T, s ports.Store, clock *FakeClock) {
	put(t, s, inst(clock, "svc", "a"))
	clock.Advance(5 * time.Second)
	again := inst(clock, "svc", "a")
	again.Endpoint = "http://moved:9090"
	if created := put(t, s, again); created {
		t.Fatal("Put of a live key should report created=false")
	}
	got := one(t, s, "svc")
	if got.Endpoint != "http://moved:9090" || !got.LastHeartbeat.Equal(clock.Now()) {
		t.Fatalf("re-register did not replace: %+v", got)
	}
}

func testRenewExtendsLease(t *testing.T, s ports.Store, clock *FakeClock) {
	put(t, s, inst(clock, "svc", "a"))
	clock.Advance(leaseTTL - time.Second)
	renewed := renew(t, s, "svc", "a")
	if !renewed.LastHeartbeat.Equal(clock.Now()) {
		t.Fatalf("renew should set last heartbeat to now, got %v want %v", renewed.LastHeartbeat, clock.Now())
	}
	clock.Advance(leaseTTL - time.Second) // past the first lease, inside the second
	got := one(t, s, "svc")
	if got.TTLRemaining(clock.Now()) != 1 {
		t.Fatalf("want 1s left, got %d", got.TTLRemaining(clock.Now()))
	}
}

func testRenewUnknown(t *testing.T, s ports.Store, clock *FakeClock) {
	ctx := context.Background()
	_, err := s.Renew(ctx, "svc", "ghost")
	wantNotFound(t, err)
	put(t, s, inst(clock, "svc", "a"))
	_, err = s.Renew(ctx, "svc", "ghost")
	wantNotFound(t, err)
}

func testExpiry(t *testing.T, s ports.Store, clock *FakeClock) {
	ctx := context.Background()
	put(t, s, inst(clock, "svc", "a"))
	clock.Advance(leaseTTL)
	wantAbsent(t, s, "svc")
	_, err := s.Renew(ctx, "svc", "a")
	wantNotFound(t, err)
	if names := services(t, s); len(names) != 0 {
		t.Fatalf("expired service still listed: %v", names)
	}
	if created := put(t, s, inst(clock, "svc", "a")); !created {
		t.Fatal("Put after expiry should report created")
	}
}

func testServicesSorted(t *testing.T, s ports.Store, clock *FakeClock) {
	for _, name := range []string{"osint_service", "active_immune_core_service", "nmap_service"} {
		put(t, s, inst(clock, name, "i-"+name))
	}
	put(t, s, inst(clock, "nmap_service", "second"))
	got := services(t, s)
	want := []string{"active_immune_core_service", "nmap_service", "osint_service"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v want %v", got, want)
	}
}

func testDelete(t *testing.T, s ports.Store, clock *FakeClock) {
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		put(t, s, inst(clock, "svc", id))
	}
	if n := del(t, s, "svc", "a"); n != 1 {
		t.Fatalf("deleted %d, want 1", n)
	}
	if list := instances(t, s, "svc"); len(list) != 2 {
		t.Fatalf("want 2 left, got %d", len(list))
	}
	_, err := s.Delete(ctx, "svc", "a")
	wantNotFound(t, err)
	if n := del(t, s, "svc", ""); n != 2 {
		t.Fatalf("deleted %d, want 2", n)
	}
	wantAbsent(t, s, "svc")
	_, err = s.Delete(ctx, "svc", "")
	wantNotFound(t, err)
}

func testSeveralInstances(t *testing.T, s ports.Store, clock *FakeClock) {
	put(t, s, inst(clock, "svc", "a"))
	clock.Advance(30 * time.Second)
	put(t, s, inst(clock, "svc", "b"))
	if list := instances(t, s, "svc"); len(list) != 2 {
		t.Fatalf("want 2 instances, got %d", len(list))
	}
	clock.Advance(30 * time.Second) // a's lease ends, b's does not
	got := one(t, s, "svc")
	if got.InstanceID != "b" {
		t.Fatalf("want b to survive, got %s", got.InstanceID)
	}
}

func testMetadataRoundTrip(t *testing.T, s ports.Store, clock *FakeClock) {
	in := inst(clock, "svc", "a")
	in.Metadata = map[string]string{"version": "2.1.0", "status": "unhealthy", "zone": "eu-1"}
	put(t, s, in)
	got := one(t, s, "svc")
	if fmt.Sprint(got.Metadata) != fmt.Sprint(in.Metadata) {
		t.Fatalf("metadata %v came back as %v", in.Metadata, got.Metadata)
	}
}

// testDefaultIDRoundTrip: whether the client named the instance decides
// which heartbeats renew it, so the store keeps it, through renewals too.
func testDefaultIDRoundTrip(t *testing.T, s ports.Store, clock *FakeClock) {
	derived := inst(clock, "svc", "a")
	derived.DefaultID = true
	put(t, s, derived)
	put(t, s, inst(clock, "svc", "b"))
	snap, err := s.Service(context.Background(), "svc")
	noErr(t, err)
	got := map[string]bool{}
	for _, in := range snap.Instances {
		got[in.InstanceID] = in.DefaultID
	}
	if len(got) != 2 || !got["a"] || got["b"] {
		t.Fatalf("DefaultID by instance: %v, want a:true b:false", got)
	}
	clock.Advance(time.Second)
	for id, want := range map[string]bool{"a": true, "b": false} {
		in, err := s.Renew(context.Background(), "svc", id)
		noErr(t, err)
		if in.DefaultID != want {
			t.Fatalf("renewed %s: DefaultID %v, want %v", id, in.DefaultID, want)
		}
	}
}

// testTagsRoundTrip: tags come back in their order through a lookup, a
// renewal and the whole catalog's read; an instance without tags has nil.
func testTagsRoundTrip(t *testing.T, s ports.Store, clock *FakeClock) {
	tagged := inst(clock, "svc", "a")
	tagged.Tags = []string{"traefik.enable=true", "Host(`a.example`)", "v1"}
	put(t, s, tagged)
	put(t, s, inst(clock, "svc", "b"))
	byID := map[string][]string{}
	for _, in := range instances(t, s, "svc") {
		byID[in.InstanceID] = in.Tags
	}
	if !slices.Equal(byID["a"], tagged.Tags) || byID["b"] != nil {
		t.Fatalf("tags by instance: %q, want a: %q and b: nil", byID, tagged.Tags)
	}
	clock.Advance(time.Second)
	if in := renew(t, s, "svc", "a"); !slices.Equal(in.Tags, tagged.Tags) {
		t.Fatalf("renewed: tags %q, want %q", in.Tags, tagged.Tags)
	}
}

// testOwnTTL: an instance's own lease length (a Consul TTL check's)
// survives the store and is what a renewal restarts.
func testOwnTTL(t *testing.T, s ports.Store, clock *FakeClock) {
	short := inst(clock, "svc", "a")
	short.TTL = 5 * time.Second
	put(t, s, short)
	clock.Advance(4 * time.Second)
	if in := renew(t, s, "svc", "a"); in.TTL != 5*time.Second {
		t.Fatalf("renewed: ttl %s, want 5s", in.TTL)
	}
	clock.Advance(4 * time.Second)
	if got := instances(t, s, "svc"); got[0].TTL != 5*time.Second {
		t.Fatalf("stored ttl %s, want 5s", got[0].TTL)
	}
	clock.Advance(2 * time.Second)
	wantAbsent(t, s, "svc")
}

// testConcurrent registers, renews and reads from many goroutines at once;
// every instance must survive and nothing may error or race.
func testConcurrent(t *testing.T, s ports.Store, clock *FakeClock) {
	ctx := context.Background()
	const workers, nsvc = 32, 4
	var wg sync.WaitGroup
	errs := make(chan error, workers*3)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			service := fmt.Sprintf("svc_%d", w%nsvc)
			id := fmt.Sprintf("w%d", w)
			if _, err := s.Put(ctx, inst(clock, service, id)); err != nil {
				errs <- err
				return
			}
			if _, err := s.Renew(ctx, service, id); err != nil {
				errs <- err
			}
			if _, err := s.Service(ctx, service); err != nil {
				errs <- err
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent call failed: %v", err)
	}
	if names := services(t, s); len(names) != nsvc {
		t.Fatalf("want %d services, got %v", nsvc, names)
	}
	total := 0
	for i := 0; i < nsvc; i++ {
		total += len(instances(t, s, fmt.Sprintf("svc_%d", i)))
	}
	if total != workers {
		t.Fatalf("want %d instances, got %d", workers, total)
	}
}

// NewLimitedStore builds an empty store that holds at most maxInstances
// live instances per service.
type NewLimitedStore func(t *testing.T, clock ports.Clock, maxInstances int) ports.Store

// RunStoreLimit is the contract of a store built with a bound on
// instances per service: a Put that would add one beyond it is refused
// with a *ports.LimitError and stores nothing; replacing a live instance
// is always allowed; an instance whose lease ended frees its place; and
// concurrent Puts never overshoot.
func RunStoreLimit(t *testing.T, newStore NewLimitedStore) {
	t.Run("RefusesBeyondTheLimit", func(t *testing.T) {
		clock := NewFakeClock(time.Now().Truncate(time.Millisecond))
		s := newStore(t, clock, 3)
		ctx := context.Background()
		for _, id := range []string{"a", "b", "c"} {
			put(t, s, inst(clock, "svc", id))
		}
		before, err := s.Service(ctx, "svc")
		noErr(t, err)
		_, err = s.Put(ctx, inst(clock, "svc", "d"))
		var le *ports.LimitError
		if !errors.Is(err, ports.ErrLimit) || !errors.As(err, &le) || le.Limit != 3 || le.Service != "svc" {
			t.Fatalf("a fourth instance: want a LimitError for svc at 3, got %v", err)
		}
		after, err := s.Service(ctx, "svc")
		noErr(t, err)
		if len(after.Instances) != 3 || after.Index != before.Index {
			t.Fatalf("a refused Put changed the service: %d instances, index %d→%d", len(after.Instances), before.Index, after.Index)
		}
		put(t, s, inst(clock, "svc", "b")) // replacing is allowed at the limit
		put(t, s, inst(clock, "other", "d"))
		// c's lease ends while a and b are renewed: its place is free.
		clock.Advance(leaseTTL / 2)
		for _, id := range []string{"a", "b"} {
			_, err := s.Renew(ctx, "svc", id)
			noErr(t, err)
		}
		clock.Advance(leaseTTL/2 + time.Second)
		put(t, s, inst(clock, "svc", "d"))
	})
	t.Run("ConcurrentPutsNeverOvershoot", func(t *testing.T) {
		clock := NewFakeClock(time.Now().Truncate(time.Millisecond))
		s := newStore(t, clock, 3)
		var wg sync.WaitGroup
		var mu sync.Mutex
		stored, refused := 0, 0
		for i := range 12 {
			wg.Go(func() {
				_, err := s.Put(context.Background(), inst(clock, "svc", fmt.Sprintf("i%d", i)))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					stored++
				case errors.Is(err, ports.ErrLimit):
					refused++
				default:
					t.Errorf("put %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		snap, err := s.Service(context.Background(), "svc")
		noErr(t, err)
		if stored != 3 || refused != 9 || len(snap.Instances) != 3 {
			t.Fatalf("12 concurrent puts at a limit of 3: %d stored, %d refused, %d live", stored, refused, len(snap.Instances))
		}
	})
}
