package routing

import (
	"context"
	"errors"
	"time"

	"github.com/sethvargo/go-retry"

	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
)

// DefaultFeedWait is how long one change-feed request waits for a change.
// Short enough that a registry replica that vanished without closing the
// connection is left within it; long enough to cost nothing.
const DefaultFeedWait = 30 * time.Second

// Follow keeps the router's routes current from the registry's change
// feed until ctx ends: it holds one blocking request, and when the feed
// names services the router routes, it reads each again (one lookup) and
// installs the answer, or forgets a service the registry no longer knows.
// While it follows, routes need no CacheTTL: a router learns of a change
// within a round trip of the registry making it. When the feed fails
// (the registry unreachable, or too old to follow), routes age by CacheTTL
// again, the breaker and fallbacks work as without a feed, and Follow
// starts afresh with backoff (100 ms doubling to 5 s).
func (r *Router) Follow(ctx context.Context, feed ports.ChangeFeed, sleeper ports.Sleeper) {
	defer r.following.Store(false)
	var index uint64
	backoff := newFeedBackoff()
	for ctx.Err() == nil {
		ch, err := feed.Changes(ctx, index, r.set.FeedWait)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if r.following.Swap(false) {
				// The registry would have said if anything changed until
				// the feed broke: the routes were current up to now, and
				// CacheTTL runs from here.
				r.confirmed.Store(r.clock.Now().UnixNano())
			}
			index = 0 // start again with a complete answer
			delay, _ := backoff.Next()
			if sleeper.Sleep(ctx, delay) != nil {
				return
			}
			continue
		}
		backoff = newFeedBackoff()
		r.registry.Success(r.clock.Now()) // the registry answers: its breaker may close
		r.apply(ctx, ch)
		index = ch.Index
		r.confirmed.Store(r.clock.Now().UnixNano())
		r.following.Store(true)
	}
}

func newFeedBackoff() retry.Backoff {
	return retry.WithCappedDuration(5*time.Second, retry.NewExponential(100*time.Millisecond))
}

// apply reads again the services the router routes that the feed names:
// all of them when the answer is complete (the router may have missed
// anything before it).
func (r *Router) apply(ctx context.Context, ch catalog.Changes) {
	named := make(map[string]bool, len(ch.Services)+len(ch.Removed))
	for _, list := range [][]catalog.ServiceIndex{ch.Services, ch.Removed} {
		for _, si := range list {
			named[si.Name] = true
		}
	}
	for _, name := range r.routed() {
		if ch.Complete || named[name] {
			r.refresh(ctx, name)
		}
	}
}

// routed lists the services the router holds a route for.
func (r *Router) routed() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.services))
	for name, s := range r.services {
		if s.answer.Load() != nil {
			names = append(names, name)
		}
	}
	return names
}

// refresh reads one service again and installs what the registry says. A
// failed read leaves the route as it is: an error never empties what the
// router knows (only the registry saying "not registered" does).
func (r *Router) refresh(ctx context.Context, name string) {
	snap, err := r.dir.Lookup(ctx, name)
	now := r.clock.Now()
	switch {
	case err == nil:
		r.serviceFor(name).install(snap, now)
	case errors.Is(err, ports.ErrNotFound):
		_, _, _ = r.unknown(name, snap.Index, now)
	}
}

// Following reports whether the router follows the change feed now (for
// /health and metrics).
func (r *Router) Following() bool { return r.following.Load() }
