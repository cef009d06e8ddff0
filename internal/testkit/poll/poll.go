// Package poll is how this repository waits for something another process
// does: call a check at a fixed interval until it passes or a deadline
// passes (sethvargo/go-retry's constant backoff, bounded in time), never a
// bare sleep.
package poll

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-retry"
)

// Interval is how often a wait of within checks: a fiftieth of it, so a
// measured duration is within 2 % of the bound, between 10 ms and 100 ms.
func Interval(within time.Duration) time.Duration {
	return min(max(within/50, 10*time.Millisecond), 100*time.Millisecond)
}

// Until calls check every Interval(within) until it returns nil, and
// returns check's last error when within has passed or ctx has ended
// first.
func Until(ctx context.Context, within time.Duration, check func() error) error {
	var last error
	err := retry.Do(ctx, retry.WithMaxDuration(within, retry.NewConstant(Interval(within))), func(context.Context) error {
		last = check()
		return retry.RetryableError(last)
	})
	switch {
	case err == nil:
		return nil
	case last == nil || errors.Is(err, last):
		return fmt.Errorf("not within %s: %w", within, err)
	default: // ctx ended: say so, and what the check said last
		return fmt.Errorf("%w; last check: %v", err, last)
	}
}

// Eventually is Until for tests: it fails tb with what and check's last
// error when within passes, and returns how long the wait took.
func Eventually(tb testing.TB, within time.Duration, what string, check func() error) time.Duration {
	tb.Helper()
	start := time.Now()
	if err := Until(context.Background(), within, check); err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
	return time.Since(start)
}

// During calls check every 100 ms for d and fails tb at its first error:
// a promise that must hold throughout a window. It returns the number of
// checks made.
func During(tb testing.TB, d time.Duration, what string, check func() error) int {
	tb.Helper()
	end := time.Now().Add(d)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	n := 0
	for time.Now().Before(end) {
		n++
		if err := check(); err != nil {
			tb.Fatalf("%s: broken after %d checks: %v", what, n, err)
		}
		<-tick.C
	}
	return n
}

// errFalse is a condition that does not hold yet.
var errFalse = errors.New("condition not met")

// Holds turns a condition into a check.
func Holds(cond func() bool) func() error {
	return func() error {
		if cond() {
			return nil
		}
		return errFalse
	}
}

// Explain turns a condition into a check whose error, while it does not
// hold, is why() (what was seen instead).
func Explain(cond func() bool, why func() string) func() error {
	return func() error {
		if cond() {
			return nil
		}
		return errors.New(why())
	}
}

// client bounds each GET of Status.
var client = &http.Client{Timeout: 5 * time.Second}

// Status is a check that GETs url and passes when the answer's status is
// want (any status when want is 0) and its body holds every fragment;
// otherwise its error says what came back.
func Status(url string, want int, fragments ...string) func() error {
	return func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return fmt.Errorf("GET %s: %s, body: %w", url, resp.Status, err)
		}
		ok := want == 0 || resp.StatusCode == want
		for _, f := range fragments {
			ok = ok && strings.Contains(string(b), f)
		}
		if ok {
			return nil
		}
		return fmt.Errorf("GET %s: %s %s; want %d with %q", url, resp.Status, clip(string(b), 512), want, fragments)
	}
}

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
