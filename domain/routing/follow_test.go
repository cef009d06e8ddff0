package routing_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/routing"
	"github.com/vertice/vertice/ports"
	"github.com/vertice/vertice/ports/portstest"
)

// fakeFeed hands Follow the answers the test sends, one per call, and
// records the index of each call.
type fakeFeed struct {
	answers chan feedAnswer
	asked   chan uint64
}

type feedAnswer struct {
	ch  catalog.Changes
	err error
}

func newFakeFeed() *fakeFeed {
	return &fakeFeed{answers: make(chan feedAnswer), asked: make(chan uint64, 100)}
}

func (f *fakeFeed) Changes(ctx context.Context, index uint64, _ time.Duration) (catalog.Changes, error) {
	f.asked <- index
	select {
	case a := <-f.answers:
		return a.ch, a.err
	case <-ctx.Done():
		return catalog.Changes{}, ctx.Err()
	}
}

// send answers the pending call and waits until Follow has applied it (it
// asks again).
func (f *fakeFeed) send(t *testing.T, a feedAnswer) uint64 {
	t.Helper()
	f.answers <- a
	select {
	case idx := <-f.asked:
		return idx
	case <-time.After(5 * time.Second):
		t.Fatal("Follow did not ask again after an answer")
		return 0
	}
}

// noSleep returns at once, or with ctx's error.
type noSleep struct{}

func (noSleep) Sleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

type following struct {
	dir    *fakeDirectory
	feed   *fakeFeed
	clock  *portstest.FakeClock
	router *routing.Router
}

// follow starts a router following a fake feed and answers the feed's
// first call with everything the directory holds.
func follow(t *testing.T, fallback routing.Fallback) *following {
	t.Helper()
	f := &following{
		dir:   &fakeDirectory{services: map[string][]catalog.Instance{"nmap_service": {inst("a", "http://a:1", "")}}},
		feed:  newFakeFeed(),
		clock: portstest.NewFakeClock(time.Unix(1_761_311_216, 0)),
	}
	var err error
	f.router, err = routing.New(f.dir, f.clock, fallback, routing.Settings{CacheTTL: 5 * time.Second, StaleFor: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.router.Follow(ctx, f.feed, noSleep{}) }()
	t.Cleanup(func() { cancel(); <-done })
	if idx := <-f.feed.asked; idx != 0 {
		t.Fatalf("the first call asks from index %d, want 0 (everything)", idx)
	}
	return f
}

func (f *following) resolve(t *testing.T) (*routing.Route, routing.Source, error) {
	t.Helper()
	return f.router.Resolve(context.Background(), "nmap_service")
}

func targets(rt *routing.Route) string {
	var s string
	for _, tg := range rt.Targets() {
		s += tg.InstanceID
	}
	return s
}

// TestFollowingKeepsRoutesPastCacheTTL: with the feed answering, a route
// stays in use without asking the registry again, however old.
func TestFollowingKeepsRoutesPastCacheTTL(t *testing.T) {
	f := follow(t, nil)
	if _, src, err := f.resolve(t); err != nil || src != routing.FromRegistry {
		t.Fatalf("first resolve: %v %v", src, err)
	}
	f.feed.send(t, feedAnswer{ch: catalog.Changes{Index: 10, Complete: true, Services: []catalog.ServiceIndex{{Name: "nmap_service", Index: 1}}}})
	if !f.router.Following() {
		t.Fatal("a feed that answers is followed")
	}
	calls := f.dir.count()
	f.clock.Advance(time.Hour)
	if _, src, err := f.resolve(t); err != nil || src != routing.FromCache || f.dir.count() != calls {
		t.Fatalf("an hour on: %v %v, %d lookups (were %d): want the cached route and no lookup", src, err, f.dir.count(), calls)
	}
}

// TestFeedNamingAServiceReadsItAgain: a change the feed names is read and
// routed before any request asks; a removal forgets the route.
func TestFeedNamingAServiceReadsItAgain(t *testing.T) {
	f := follow(t, nil)
	f.resolve(t)
	idx := f.feed.send(t, feedAnswer{ch: catalog.Changes{Index: 10, Complete: true, Services: []catalog.ServiceIndex{{Name: "nmap_service", Index: 1}}}})
	f.dir.set("nmap_service", 11, []catalog.Instance{inst("a", "http://a:1", ""), inst("b", "http://b:1", "")})
	next := f.feed.send(t, feedAnswer{ch: catalog.Changes{Index: 11, Services: []catalog.ServiceIndex{{Name: "nmap_service", Index: 11}}}})
	if idx != 10 || next != 11 {
		t.Fatalf("Follow asked from %d then %d, want 10 then 11", idx, next)
	}
	if rt, src, err := f.resolve(t); err != nil || src != routing.FromCache || targets(rt) != "ab" {
		t.Fatalf("after the feed named it: %v %v %v, want both instances from the cache", targets(rt), src, err)
	}
	f.dir.set("nmap_service", 12, nil)
	f.feed.send(t, feedAnswer{ch: catalog.Changes{Index: 12, Removed: []catalog.ServiceIndex{{Name: "nmap_service", Index: 12}}}})
	if _, _, err := f.resolve(t); !errors.Is(err, routing.ErrUnknownService) {
		t.Fatalf("after the feed said removed: %v, want ErrUnknownService", err)
	}
}

// TestFailingRefreshKeepsTheRoute: a read that fails while following never
// empties a route the router knows.
func TestFailingRefreshKeepsTheRoute(t *testing.T) {
	f := follow(t, nil)
	f.resolve(t)
	f.feed.send(t, feedAnswer{ch: catalog.Changes{Index: 10, Complete: true}})
	f.dir.fail(fmt.Errorf("registry: %w", ports.ErrUnavailable))
	f.feed.send(t, feedAnswer{ch: catalog.Changes{Index: 11, Services: []catalog.ServiceIndex{{Name: "nmap_service", Index: 11}}}})
	if rt, _, err := f.resolve(t); err != nil || targets(rt) != "a" {
		t.Fatalf("after a failed refresh: %v %v, want the route as it was", targets(rt), err)
	}
}

// TestLostFeedFallsBackToCacheTTL: when the feed fails, routes age by
// CacheTTL again, from the moment it broke (they were current until then),
// and the stale answer stands in while the registry is down.
func TestLostFeedFallsBackToCacheTTL(t *testing.T) {
	f := follow(t, nil)
	f.resolve(t)
	f.clock.Advance(time.Hour)
	f.feed.send(t, feedAnswer{ch: catalog.Changes{Index: 10, Complete: true}})
	f.clock.Advance(time.Minute) // the feed's request waits for a change, in vain
	if idx := f.feed.send(t, feedAnswer{err: fmt.Errorf("registry: %w", ports.ErrUnavailable)}); idx != 0 {
		t.Fatalf("after a failure Follow asks from %d, want 0 (everything again)", idx)
	}
	if f.router.Following() {
		t.Fatal("a failing feed is not followed")
	}
	calls := f.dir.count()
	f.clock.Advance(2 * time.Second)
	if _, src, _ := f.resolve(t); src != routing.FromCache || f.dir.count() != calls {
		t.Fatalf("2 s after the feed broke: %v, want the cache (CacheTTL 5 s counts from the break)", src)
	}
	f.clock.Advance(4 * time.Second)
	f.dir.fail(fmt.Errorf("registry: %w", ports.ErrUnavailable))
	if _, src, err := f.resolve(t); err != nil || src != routing.FromStale {
		t.Fatalf("past CacheTTL with the registry down: %v %v, want the stale route", src, err)
	}
}

// TestCrossedLookupsKeepTheNewerAnswer: a lookup that started before a
// change and answers after it does not replace the newer route.
func TestCrossedLookupsKeepTheNewerAnswer(t *testing.T) {
	f := follow(t, nil)
	f.dir.set("nmap_service", 20, []catalog.Instance{inst("a", "http://a:1", ""), inst("b", "http://b:1", "")})
	f.resolve(t) // index 20
	f.feed.send(t, feedAnswer{ch: catalog.Changes{Index: 20, Complete: true}})
	f.dir.set("nmap_service", 15, []catalog.Instance{inst("a", "http://a:1", "")}) // an older answer
	f.feed.send(t, feedAnswer{ch: catalog.Changes{Index: 21, Services: []catalog.ServiceIndex{{Name: "nmap_service", Index: 21}}}})
	if rt, _, _ := f.resolve(t); targets(rt) != "ab" {
		t.Fatalf("an answer at index 15 replaced the one at 20: %s", targets(rt))
	}
}

// TestBadAnswerIsTheServicesProblem: an unusable answer for one service
// does not open the registry's breaker that every service shares.
func TestBadAnswerIsTheServicesProblem(t *testing.T) {
	dir := &fakeDirectory{services: map[string][]catalog.Instance{}}
	r, err := routing.New(dir, portstest.NewFakeClock(time.Unix(1_761_311_216, 0)), nil, routing.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	dir.fail(fmt.Errorf("registry: too large: %w", errors.Join(ports.ErrBadAnswer, ports.ErrUnavailable)))
	for range 10 {
		_, _, _ = r.Resolve(context.Background(), "huge_service")
	}
	if st := r.RegistryState(r.Now()); st.String() != "closed" {
		t.Fatalf("ten unusable answers for one service left the registry breaker %s", st)
	}
}
