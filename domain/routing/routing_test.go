package routing_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vertice/vertice/domain/breaker"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/routing"
	"github.com/vertice/vertice/ports"
	"github.com/vertice/vertice/ports/portstest"
)

// fakeDirectory answers from a map, or fails with err; it counts lookups.
// Every answer has index 1 unless indexes says otherwise.
type fakeDirectory struct {
	mu       sync.Mutex
	services map[string][]catalog.Instance
	indexes  map[string]uint64
	err      error
	calls    int
}

func (d *fakeDirectory) Lookup(_ context.Context, service string) (catalog.Service, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	if d.err != nil {
		return catalog.Service{}, d.err
	}
	snap := catalog.Service{Name: service, Index: max(d.indexes[service], 1), Instances: d.services[service]}
	if _, ok := d.services[service]; !ok {
		return snap, fmt.Errorf("directory: %q: %w", service, ports.ErrNotFound)
	}
	return snap, nil
}

// set changes what the directory says of service, at index.
func (d *fakeDirectory) set(service string, index uint64, list []catalog.Instance) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.indexes == nil {
		d.indexes = map[string]uint64{}
	}
	d.indexes[service] = index
	if list == nil {
		delete(d.services, service)
		return
	}
	d.services[service] = list
}

func (d *fakeDirectory) fail(err error) { d.mu.Lock(); d.err = err; d.mu.Unlock() }
func (d *fakeDirectory) count() int     { d.mu.Lock(); defer d.mu.Unlock(); return d.calls }

func inst(id, endpoint, status string) catalog.Instance {
	md := map[string]string{}
	if status != "" {
		md[catalog.StatusKey] = status
	}
	return catalog.Instance{Registration: catalog.Registration{
		ServiceName: "nmap_service", InstanceID: id, Endpoint: endpoint, Metadata: md}}
}

var errDown = fmt.Errorf("directory: connection refused: %w", ports.ErrUnavailable)

type fixture struct {
	dir    *fakeDirectory
	clock  *portstest.FakeClock
	router *routing.Router
}

func newFixture(t *testing.T, fallback map[string]string, s routing.Settings, list ...catalog.Instance) *fixture {
	t.Helper()
	dir := &fakeDirectory{services: map[string][]catalog.Instance{}}
	if len(list) > 0 {
		dir.services["nmap_service"] = list
	}
	clock := portstest.NewFakeClock(time.Unix(1_761_311_216, 0))
	fb := func(name string) (string, bool) { u, ok := fallback[name]; return u, ok }
	r, err := routing.New(dir, clock, fb, s)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{dir: dir, clock: clock, router: r}
}

func (f *fixture) resolve(t *testing.T, name string) (*routing.Route, routing.Source) {
	t.Helper()
	rt, src, err := f.router.Resolve(context.Background(), name)
	if err != nil {
		t.Fatalf("Resolve(%q): %v", name, err)
	}
	return rt, src
}

func TestCacheAnswersWithinTTLEvenWhenTheRegistryIsDown(t *testing.T) {
	f := newFixture(t, nil, routing.Settings{}, inst("a", "http://a:1", ""))
	if _, src := f.resolve(t, "nmap_service"); src != routing.FromRegistry {
		t.Fatalf("first resolve from %v, want registry", src)
	}
	f.dir.fail(errDown)
	f.clock.Advance(routing.DefaultCacheTTL - time.Millisecond)
	if _, src := f.resolve(t, "nmap_service"); src != routing.FromCache {
		t.Fatalf("resolve inside the TTL from %v, want cache", src)
	}
	if n := f.dir.count(); n != 1 {
		t.Fatalf("registry asked %d times inside the TTL, want 1", n)
	}
}

func TestCacheExpiresAfterTTL(t *testing.T) {
	f := newFixture(t, nil, routing.Settings{}, inst("a", "http://a:1", ""))
	f.resolve(t, "nmap_service")
	f.clock.Advance(routing.DefaultCacheTTL)
	if _, src := f.resolve(t, "nmap_service"); src != routing.FromRegistry {
		t.Fatalf("resolve after the TTL from %v, want registry", src)
	}
}

func TestRegistryBreakerOpensAfterFailuresAndFallbackServes(t *testing.T) {
	f := newFixture(t, map[string]string{"nmap_service": "http://fallback:8047"}, routing.Settings{})
	f.dir.fail(errDown)
	for i := range 5 {
		rt, src := f.resolve(t, "nmap_service")
		if src != routing.FromFallback || rt.Targets()[0].URL.Host != "fallback:8047" {
			t.Fatalf("resolve %d: %v via %v, want the fallback", i, rt.Targets()[0].URL, src)
		}
	}
	if n := f.dir.count(); n != 3 {
		t.Fatalf("registry asked %d times, want 3 (then the breaker opens)", n)
	}
	if st := f.router.RegistryState(f.clock.Now()); st != breaker.Open {
		t.Fatalf("registry breaker %v, want open", st)
	}
}

func TestRegistryBreakerRecoversThroughOneHalfOpenProbe(t *testing.T) {
	f := newFixture(t, map[string]string{"nmap_service": "http://fallback:8047"},
		routing.Settings{Registry: breaker.Settings{Failures: 3, OpenFor: 30 * time.Second}},
		inst("a", "http://a:1", ""))
	f.dir.fail(errDown)
	for range 3 {
		f.resolve(t, "nmap_service")
	}
	f.clock.Advance(30 * time.Second)
	f.dir.fail(nil)
	if _, src := f.resolve(t, "nmap_service"); src != routing.FromRegistry {
		t.Fatalf("probe after OpenFor from %v, want registry", src)
	}
	if st := f.router.RegistryState(f.clock.Now()); st != breaker.Closed {
		t.Fatalf("registry breaker %v after a good probe, want closed", st)
	}
}

func TestFailedProbeReopensRegistryBreaker(t *testing.T) {
	f := newFixture(t, map[string]string{"nmap_service": "http://fallback:8047"}, routing.Settings{})
	f.dir.fail(errDown)
	for range 3 {
		f.resolve(t, "nmap_service")
	}
	f.clock.Advance(30 * time.Second)
	f.resolve(t, "nmap_service") // the probe, failing
	f.resolve(t, "nmap_service")
	if n := f.dir.count(); n != 4 {
		t.Fatalf("registry asked %d times, want 4 (3 failures + 1 probe)", n)
	}
}

func TestUnknownServiceWithoutFallback(t *testing.T) {
	f := newFixture(t, nil, routing.Settings{})
	_, _, err := f.router.Resolve(context.Background(), "osint_service")
	if !errors.Is(err, routing.ErrUnknownService) || !strings.Contains(err.Error(), "OSINT_SERVICE_URL") {
		t.Fatalf("err = %v, want ErrUnknownService naming OSINT_SERVICE_URL", err)
	}
	if st := f.router.RegistryState(f.clock.Now()); st != breaker.Closed {
		t.Fatalf("a 404 from the registry moved its breaker to %v", st)
	}
}

func TestUnknownServiceUsesFallbackAndCachesIt(t *testing.T) {
	f := newFixture(t, map[string]string{"osint_service": "http://osint:8049"}, routing.Settings{})
	if _, src := f.resolve(t, "osint_service"); src != routing.FromFallback {
		t.Fatalf("source %v, want fallback", src)
	}
	if _, src := f.resolve(t, "osint_service"); src != routing.FromCache {
		t.Fatalf("second source %v, want cache", src)
	}
	if n := f.dir.count(); n != 1 {
		t.Fatalf("registry asked %d times, want 1", n)
	}
}

func TestInvalidNameNeverReachesRegistry(t *testing.T) {
	f := newFixture(t, map[string]string{"REGISTRY": "http://registry"}, routing.Settings{})
	for _, name := range []string{"REGISTRY", "../etc", "a-b", ""} {
		if _, _, err := f.router.Resolve(context.Background(), name); !errors.Is(err, routing.ErrUnknownService) {
			t.Errorf("Resolve(%q) err = %v, want ErrUnknownService", name, err)
		}
	}
	if n := f.dir.count(); n != 0 {
		t.Fatalf("registry asked %d times for invalid names", n)
	}
}

func TestStaleAnswerServesWhileRegistryDownWithoutFallback(t *testing.T) {
	f := newFixture(t, nil, routing.Settings{StaleFor: time.Minute}, inst("a", "http://a:1", ""))
	f.resolve(t, "nmap_service")
	f.dir.fail(errDown)
	f.clock.Advance(30 * time.Second)
	if _, src := f.resolve(t, "nmap_service"); src != routing.FromStale {
		t.Fatalf("source %v, want stale", src)
	}
	f.clock.Advance(30 * time.Second)
	_, _, err := f.router.Resolve(context.Background(), "nmap_service")
	if !errors.Is(err, routing.ErrRegistryUnavailable) {
		t.Fatalf("after StaleFor err = %v, want ErrRegistryUnavailable", err)
	}
}

func TestRoundRobinIsEvenAndStableAcrossRefreshes(t *testing.T) {
	f := newFixture(t, nil, routing.Settings{},
		inst("c", "http://c:1", ""), inst("a", "http://a:1", ""), inst("b", "http://b:1", ""))
	got := map[string]int{}
	var order []string
	for i := range 9 {
		if i == 4 {
			f.clock.Advance(routing.DefaultCacheTTL) // a refresh must not reset or skew the rotation
		}
		rt, _ := f.resolve(t, "nmap_service")
		id := rt.Pick(nil).InstanceID
		got[id]++
		order = append(order, id)
	}
	if got["a"] != 3 || got["b"] != 3 || got["c"] != 3 {
		t.Fatalf("picks %v (order %v), want 3 each", got, order)
	}
}

func TestUnhealthyInstanceGetsNoTrafficWhileOthersAreHealthy(t *testing.T) {
	f := newFixture(t, nil, routing.Settings{},
		inst("a", "http://a:1", catalog.StatusHealthy), inst("b", "http://b:1", catalog.StatusUnhealthy),
		inst("c", "http://c:1", ""))
	rt, _ := f.resolve(t, "nmap_service")
	got := map[string]int{}
	for range 10 {
		got[rt.Pick(nil).InstanceID]++
	}
	if got["b"] != 0 || got["a"] != 5 || got["c"] != 5 {
		t.Fatalf("picks %v, want a and c 5 each, b none", got)
	}
}

func TestAllUnhealthyStillRoutes(t *testing.T) {
	f := newFixture(t, nil, routing.Settings{}, inst("a", "http://a:1", catalog.StatusUnhealthy))
	rt, _ := f.resolve(t, "nmap_service")
	if tg := rt.Pick(nil); tg == nil || tg.InstanceID != "a" {
		t.Fatalf("pick %v, want a (better than no answer)", tg)
	}
}

func TestPassiveEjectionSkipsFailingInstanceForAWhile(t *testing.T) {
	f := newFixture(t, nil, routing.Settings{EjectAfter: 2, EjectFor: 10 * time.Second},
		inst("a", "http://a:1", ""), inst("b", "http://b:1", ""))
	rt, _ := f.resolve(t, "nmap_service")
	a := rt.Targets()[0]
	rt.Unreachable(a)
	if !picksBoth(rt) {
		t.Fatal("one failure ejected a; want EjectAfter=2 in a row")
	}
	rt.Unreachable(a)
	for range 4 {
		if rt.Pick(nil) == a {
			t.Fatal("ejected instance a was picked")
		}
	}
	f.clock.Advance(10 * time.Second)
	if !picksBoth(rt) {
		t.Fatal("a is still out of rotation after EjectFor")
	}
	rt.Unreachable(a) // the run goes on: out again at once
	//lint:ignore SA4000 Pick has a side effect (round robin): two picks in a row must both avoid a
	if rt.Pick(nil) == a || rt.Pick(nil) == a {
		t.Fatal("a failed again after its ejection but was picked")
	}
	rt.Reached(a)
	if !picksBoth(rt) {
		t.Fatal("a answered but stayed ejected")
	}
}

func TestEveryInstanceEjectedStillRoutes(t *testing.T) {
	f := newFixture(t, nil, routing.Settings{EjectAfter: 1},
		inst("a", "http://a:1", ""), inst("b", "http://b:1", ""))
	rt, _ := f.resolve(t, "nmap_service")
	for _, tg := range rt.Targets() {
		rt.Unreachable(tg)
	}
	if !picksBoth(rt) {
		t.Fatal("with every instance ejected, want them all tried anyway")
	}
}

func picksBoth(rt *routing.Route) bool {
	seen := map[string]bool{}
	for range 4 {
		if tg := rt.Pick(nil); tg != nil {
			seen[tg.InstanceID] = true
		}
	}
	return seen["a"] && seen["b"]
}

func TestPickSkipsTriedTargets(t *testing.T) {
	f := newFixture(t, nil, routing.Settings{}, inst("a", "http://a:1", ""), inst("b", "http://b:1", ""))
	rt, _ := f.resolve(t, "nmap_service")
	first := rt.Pick(nil)
	second := rt.Pick([]*routing.Target{first})
	if second == nil || second == first {
		t.Fatalf("retry picked %v after %v, want the other instance", second, first)
	}
	if third := rt.Pick([]*routing.Target{first, second}); third != nil {
		t.Fatalf("picked %v with every target tried, want nil", third.InstanceID)
	}
}

func TestUpstreamBreakerOpensAndRecoversThroughHalfOpen(t *testing.T) {
	f := newFixture(t, nil, routing.Settings{Upstream: breaker.Settings{Failures: 3, OpenFor: 30 * time.Second}},
		inst("a", "http://a:1", ""))
	rt, _ := f.resolve(t, "nmap_service")
	for range 3 {
		if err := rt.Allow(); err != nil {
			t.Fatalf("closed breaker refused: %v", err)
		}
		rt.Done(false)
	}
	if err := rt.Allow(); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("after 3 failures Allow = %v, want ErrOpen", err)
	}
	f.clock.Advance(30 * time.Second)
	if err := rt.Allow(); err != nil {
		t.Fatalf("half-open probe refused: %v", err)
	}
	if err := rt.Allow(); !errors.Is(err, breaker.ErrOpen) {
		t.Fatal("a second request went through while the probe was in flight")
	}
	rt.Done(true)
	if err := rt.Allow(); err != nil {
		t.Fatalf("after a good probe Allow = %v, want closed", err)
	}
	states := map[string]breaker.State{}
	f.router.States(f.clock.Now(), func(target string, st breaker.State) { states[target] = st })
	if states["nmap_service"] != breaker.Closed || states[routing.RegistryTarget] != breaker.Closed {
		t.Fatalf("States = %v", states)
	}
}

func TestConcurrentMissesAskTheRegistryOnce(t *testing.T) {
	f := newFixture(t, nil, routing.Settings{}, inst("a", "http://a:1", ""))
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if _, _, err := f.router.Resolve(context.Background(), "nmap_service"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := f.dir.count(); n != 1 {
		t.Fatalf("registry asked %d times by 32 concurrent misses on a frozen clock, want 1", n)
	}
}

// gatedDirectory holds every lookup until release is closed, then answers
// like a real client: with the context's error if it was cancelled.
type gatedDirectory struct {
	release chan struct{}
	list    []catalog.Instance
}

func (d *gatedDirectory) Lookup(ctx context.Context, name string) (catalog.Service, error) {
	<-d.release
	if err := ctx.Err(); err != nil {
		return catalog.Service{}, fmt.Errorf("directory: %w: %w", err, ports.ErrUnavailable)
	}
	return catalog.Service{Name: name, Index: 1, Instances: d.list}, nil
}

// TestLeaderHangingUpDoesNotCancelTheSharedLookup: the request that
// started a registry lookup goes away (its client hung up) while another
// waits for the same lookup; the lookup still completes for the one that
// waits. synctest makes "the follower is waiting" observable.
func TestLeaderHangingUpDoesNotCancelTheSharedLookup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := &gatedDirectory{release: make(chan struct{}), list: []catalog.Instance{inst("a", "http://a:1", "")}}
		r, err := routing.New(dir, portstest.NewFakeClock(time.Unix(1_761_311_216, 0)), nil, routing.Settings{})
		if err != nil {
			t.Fatal(err)
		}
		type result struct {
			src routing.Source
			err error
		}
		leaderCtx, hangUp := context.WithCancel(context.Background())
		leader, follower := make(chan result, 1), make(chan result, 1)
		go func() { _, src, err := r.Resolve(leaderCtx, "nmap_service"); leader <- result{src, err} }()
		synctest.Wait() // the leader's lookup is in the directory
		go func() { _, src, err := r.Resolve(context.Background(), "nmap_service"); follower <- result{src, err} }()
		synctest.Wait() // the follower waits for that lookup
		hangUp()
		synctest.Wait()
		close(dir.release)
		if got := <-follower; got.err != nil || got.src != routing.FromRegistry {
			t.Fatalf("follower: %v from %v, want the registry's answer", got.err, got.src)
		}
		<-leader // whatever it got, it returned
	})
}

func TestSettingsValidateNamesTheField(t *testing.T) {
	err := routing.Settings{CacheTTL: -time.Second}.Validate()
	if err == nil || !strings.Contains(err.Error(), "CacheTTL") {
		t.Fatalf("Validate = %v, want an error naming CacheTTL", err)
	}
	if err := (routing.Settings{}).Validate(); err != nil {
		t.Fatalf("zero Settings invalid: %v", err)
	}
}

func TestForgetDropsGoneAndIdleServices(t *testing.T) {
	f := newFixture(t, nil, routing.Settings{ForgetAfter: 10 * time.Minute, CacheTTL: 5 * time.Second})
	for _, name := range []string{"gone_service", "idle_service", "busy_service"} {
		f.dir.services[name] = []catalog.Instance{inst("a", "http://10.0.0.1:80", "")}
		f.resolve(t, name)
	}
	delete(f.dir.services, "gone_service") // deregistered
	f.clock.Advance(6 * time.Second)
	if _, _, err := f.router.Resolve(context.Background(), "gone_service"); !errors.Is(err, routing.ErrUnknownService) {
		t.Fatalf("gone_service after deregistration: %v", err)
	}
	var forgot []string
	f.router.Forget(f.clock.Now(), func(s string) { forgot = append(forgot, s) })
	if fmt.Sprint(forgot) != "[gone_service]" {
		t.Fatalf("forgot %v, want only the service the registry no longer knows", forgot)
	}
	for range 4 { // busy_service keeps being routed; idle_service is not
		f.clock.Advance(3 * time.Minute)
		f.resolve(t, "busy_service")
	}
	forgot = nil
	f.router.Forget(f.clock.Now(), func(s string) { forgot = append(forgot, s) })
	if fmt.Sprint(forgot) != "[idle_service]" {
		t.Fatalf("forgot %v after 12 idle minutes, want [idle_service]", forgot)
	}
	var targets []string
	f.router.States(f.clock.Now(), func(target string, _ breaker.State) { targets = append(targets, target) })
	if fmt.Sprint(targets) != "[registry busy_service]" {
		t.Fatalf("breakers still reported: %v", targets)
	}
}

func TestForgetNeverDropsIdleServicesWhenDisabled(t *testing.T) {
	f := newFixture(t, nil, routing.Settings{ForgetAfter: -1}, inst("a", "http://10.0.0.1:80", ""))
	f.resolve(t, "nmap_service")
	f.clock.Advance(24 * time.Hour)
	f.router.Forget(f.clock.Now(), func(s string) { t.Errorf("forgot %s with ForgetAfter < 0", s) })
}
