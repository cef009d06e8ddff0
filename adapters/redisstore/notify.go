package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sethvargo/go-retry"

	"github.com/vertice/vertice/ports"
)

// Every script publishes what it changed on the store's channel, in the
// order Redis ran the scripts:
//
//	s <service> <index>                 the service's index moved: read it again
//	h <service> <instance ID> <unix ns> an instance was renewed (no index moved)
//	c <index>                           the catalog's index moved
//	f <since>                           removals up to since are forgotten
//
// Pub/sub delivers at most once: a replica that loses its subscription
// loses what was published meanwhile, so it reads everything again when
// the subscription is back (ports.Listener.Up).

// Notifier delivers the store's notices; it implements ports.Notifier.
type Notifier struct {
	client  redis.UniversalClient
	channel string
	// PingEvery is how often a silent subscription is checked; after two
	// checks with no answer it is declared lost. Zero means 500 ms.
	PingEvery time.Duration
}

// Notifier returns the notifier of s's changes, subscribed through client:
// usually the store's own, or another client of the same Redis when
// notifications must take another network path.
func (s *Store) Notifier(client redis.UniversalClient) *Notifier {
	return &Notifier{client: client, channel: s.channel}
}

// Listen implements ports.Notifier: it subscribes, calls l.Up, delivers
// notices until the subscription fails, calls l.Down, and subscribes again
// with backoff (50 ms doubling to 2 s), until ctx ends.
func (n *Notifier) Listen(ctx context.Context, l ports.Listener) {
	every := n.PingEvery
	if every <= 0 {
		every = 500 * time.Millisecond
	}
	backoff := retry.WithCappedDuration(2*time.Second, retry.NewExponential(50*time.Millisecond))
	for ctx.Err() == nil {
		err := n.session(ctx, l, every, func() {
			backoff = retry.WithCappedDuration(2*time.Second, retry.NewExponential(50*time.Millisecond))
		})
		if ctx.Err() != nil {
			return
		}
		l.Down(err)
		delay, _ := backoff.Next()
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// session is one subscription: it returns why it ended.
func (n *Notifier) session(ctx context.Context, l ports.Listener, every time.Duration, subscribed func()) error {
	ps := n.client.Subscribe(ctx)
	defer ps.Close()
	if err := ps.Subscribe(ctx, n.channel); err != nil {
		return err
	}
	// The confirmation proves the connection carries our traffic.
	if _, err := ps.ReceiveTimeout(ctx, 2*every); err != nil {
		return fmt.Errorf("subscribe %s: %w", n.channel, err)
	}
	subscribed()
	l.Up()
	missed := 0
	for {
		msg, err := ps.ReceiveTimeout(ctx, every)
		switch {
		case err == nil:
			missed = 0
			if m, ok := msg.(*redis.Message); ok {
				deliver(l, m.Payload)
			}
		case ctx.Err() != nil:
			return ctx.Err()
		case isTimeout(err):
			if missed++; missed > 2 {
				return errors.New("subscription silent: no answer to two pings")
			}
			if err := ps.Ping(ctx); err != nil {
				return err
			}
		default:
			return err
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// deliver parses one payload; one it cannot read is dropped (a newer
// registry's notice, say).
func deliver(l ports.Listener, payload string) {
	f := strings.Fields(payload)
	if len(f) < 2 {
		return
	}
	num := func(s string) uint64 { v, _ := strconv.ParseUint(s, 10, 64); return v }
	switch {
	case f[0] == "s" && len(f) == 3:
		l.Notice(ports.Notice{Kind: ports.ServiceChanged, Service: f[1], Index: num(f[2])})
	case f[0] == "h" && len(f) == 4:
		ns, err := strconv.ParseInt(f[3], 10, 64)
		if err == nil {
			l.Notice(ports.Notice{Kind: ports.InstanceRenewed, Service: f[1], InstanceID: f[2], At: time.Unix(0, ns)})
		}
	case f[0] == "c":
		l.Notice(ports.Notice{Kind: ports.CatalogChanged, Index: num(f[1])})
	case f[0] == "f":
		l.Notice(ports.Notice{Kind: ports.Forgotten, Index: num(f[1])})
	}
}

var _ ports.Notifier = (*Notifier)(nil)
