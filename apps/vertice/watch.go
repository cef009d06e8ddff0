package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/sethvargo/go-retry"
	"github.com/spf13/cobra"

	"github.com/vertice/vertice/adapters/registryclient"
	"github.com/vertice/vertice/domain/catalog"
)

// DefaultWatchWait is how long one blocking read waits for a change before
// asking again.
const DefaultWatchWait = 5 * time.Minute

// pollEvery paces a watch of a registry whose answers carry no index (the
// v1 API's): it cannot wait for a change, so it asks again this often.
const pollEvery = time.Second

// event is one line of `watch`: an instance present when the watch
// started, added, changed (anything but a renewal) or removed.
type event struct {
	Time       time.Time `json:"time"`
	Event      string    `json:"event"`
	Service    string    `json:"service"`
	InstanceID string    `json:"instance_id"`
	Endpoint   string    `json:"endpoint,omitempty"`
	Status     string    `json:"status,omitempty"`
	Index      uint64    `json:"index"`
}

func (c *cli) watchCmd() *cobra.Command {
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "watch [NAME]",
		Short: "Print each change of the catalog, or of one service, as it happens (until Ctrl-C)",
		Long: `Print the instances there are, then one line for each instance added, changed or removed
(deregistered, or its lease ended), as it happens, until Ctrl-C. Renewals are not changes.
With NAME it follows that service with blocking lookups; without, the whole catalog through
the registry's change feed (one request at a time, whatever the number of services).
With -o json each line is a JSON object.`,
		Example:           "  vertice watch\n  vertice watch demo_service -o json",
		Args:              args(0, 1),
		ValidArgsFunction: c.completeServices(1),
		RunE: c.runs(func(ctx context.Context, a []string) error {
			if wait <= 0 {
				return usagef("--wait %s: must be positive", wait)
			}
			w := &watcher{cli: c, wait: wait, known: map[string]map[string]catalog.Instance{}}
			var err error
			if len(a) == 1 {
				w.notice = fmt.Sprintf("watching %s at %s (Ctrl-C stops)", clean(a[0]), clean(c.registry))
				err = w.service(ctx, a[0])
			} else {
				w.notice = fmt.Sprintf("watching every service at %s (Ctrl-C stops)", clean(c.registry))
				err = w.all(ctx)
			}
			if ctx.Err() != nil {
				return nil // Ctrl-C is how a watch ends
			}
			return err
		}),
	}
	cmd.Flags().DurationVar(&wait, "wait", DefaultWatchWait, "longest wait of one blocking read before asking again")
	return cmd
}

type watcher struct {
	*cli
	wait  time.Duration
	known map[string]map[string]catalog.Instance // service → instance ID → instance
	// failing is set while the registry cannot be reached, so the outage
	// is reported once, and its end too.
	failing bool
	// notice goes to stderr once the first answer came: the watch is on.
	notice string
	// backoff paces the tries while the registry is away: 0.5 s, doubling
	// up to 10 s; a new outage starts again from 0.5 s.
	backoff retry.Backoff
}

// service follows one service with blocking lookups.
func (w *watcher) service(ctx context.Context, name string) error {
	var index uint64
	first := true
	for {
		snap, err := w.client.LookupAt(ctx, name, index, w.wait)
		if err != nil {
			if first || !w.retry(ctx, err) {
				return err
			}
			continue
		}
		w.recovered()
		w.apply(name, snap, first)
		index = w.next(ctx, index, snap.Index)
		first = false
	}
}

// all follows the whole catalog through the change feed: each answer names
// the services that changed, and each of those is read again.
func (w *watcher) all(ctx context.Context) error {
	var index uint64
	first := true
	for {
		feed, err := w.client.Changes(ctx, index, w.wait)
		if err != nil {
			if first || !w.retry(ctx, err) {
				return err
			}
			continue
		}
		w.recovered()
		listed := map[string]bool{}
		var lookupErr error
		for _, si := range feed.Services {
			listed[si.Name] = true
			var snap catalog.Service
			if snap, lookupErr = w.client.LookupAt(ctx, si.Name, 0, 0); lookupErr != nil {
				break
			}
			w.apply(si.Name, snap, first)
		}
		if lookupErr != nil {
			if !w.retry(ctx, lookupErr) {
				return lookupErr
			}
			continue // the feed is asked again from the same index
		}
		for _, si := range feed.Removed {
			w.apply(si.Name, catalog.Service{Name: si.Name, Index: si.Index}, false)
		}
		if feed.Complete { // whatever is known and not listed is gone
			for _, name := range slices.Sorted(maps.Keys(w.known)) {
				if !listed[name] {
					w.apply(name, catalog.Service{Name: name, Index: feed.Index}, false)
				}
			}
		}
		index = w.next(ctx, index, feed.Index)
		first = false
	}
}

// next is the index to wait on after an answer at got: a registry whose
// index went backwards (restarted, or a failover that lost writes) is read
// afresh, as Consul's clients do; one that has no index is polled.
func (w *watcher) next(ctx context.Context, had, got uint64) uint64 {
	switch {
	case got == 0:
		pause(ctx, pollEvery)
		return 0
	case got < had:
		return 0
	}
	return got
}

// retry waits before another try when err is an outage (the registry is
// restarting, the network blinks), saying so once; any other error ends
// the watch.
func (w *watcher) retry(ctx context.Context, err error) bool {
	if ctx.Err() != nil || !outage(err) {
		return false
	}
	if !w.failing {
		fmt.Fprintf(w.stderr, "vertice: %s; retrying\n", oneLine(w.explain(err)))
		w.failing = true
	}
	if w.backoff == nil {
		w.backoff = retry.WithCappedDuration(10*time.Second, retry.NewExponential(500*time.Millisecond))
	}
	d, _ := w.backoff.Next()
	return pause(ctx, d)
}

// outage says whether err is the registry being away (no answer, a 5xx, a
// 429) rather than a request it refuses, which retrying will not mend.
func outage(err error) bool {
	var e *registryclient.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Status == 0 || e.Status >= 500 || e.Status == http.StatusTooManyRequests
}

func (w *watcher) recovered() {
	if w.notice != "" {
		fmt.Fprintln(w.stderr, w.notice)
		w.notice = ""
	}
	if w.failing {
		fmt.Fprintln(w.stderr, "vertice: the registry answers again")
		w.failing = false
	}
	w.backoff = nil
}

func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// apply compares what a read says of a service with what was known, and
// prints the difference: every instance as "present" on the first read.
func (w *watcher) apply(name string, snap catalog.Service, first bool) {
	old := w.known[name]
	now := time.Now()
	cur := make(map[string]catalog.Instance, len(snap.Instances))
	for _, in := range snap.Instances {
		cur[in.InstanceID] = in
	}
	for _, id := range slices.Sorted(maps.Keys(cur)) {
		in := cur[id]
		prev, had := old[id]
		switch {
		case first:
			w.print(event{Time: now, Event: "present", Service: name, InstanceID: id, Endpoint: in.Endpoint, Status: status(in), Index: snap.Index})
		case !had:
			w.print(event{Time: now, Event: "added", Service: name, InstanceID: id, Endpoint: in.Endpoint, Status: status(in), Index: snap.Index})
		case changed(prev, in):
			w.print(event{Time: now, Event: "changed", Service: name, InstanceID: id, Endpoint: in.Endpoint, Status: status(in), Index: snap.Index})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(old)) {
		if _, ok := cur[id]; !ok {
			w.print(event{Time: now, Event: "removed", Service: name, InstanceID: id, Endpoint: old[id].Endpoint, Index: snap.Index})
		}
	}
	if len(cur) == 0 {
		delete(w.known, name)
	} else {
		w.known[name] = cur
	}
}

// changed says whether b differs from a in anything but a renewal.
func changed(a, b catalog.Instance) bool {
	return a.Endpoint != b.Endpoint || a.HealthEndpoint != b.HealthEndpoint || !a.RegisteredAt.Equal(b.RegisteredAt) ||
		!maps.Equal(a.Metadata, b.Metadata)
}

// marks prefix each kind of event in the table output.
var marks = map[string]string{"present": "=", "added": "+", "changed": "~", "removed": "-"}

func (w *watcher) print(e event) {
	if w.output == "json" {
		_ = json.NewEncoder(w.stdout).Encode(e)
		return
	}
	line := fmt.Sprintf("%s %s %-8s %s %s", e.Time.Format("15:04:05"), marks[e.Event], e.Event, clean(e.Service), clean(e.InstanceID))
	if e.Endpoint != "" {
		line += " " + clean(e.Endpoint)
	}
	if e.Status != "" {
		line += " " + e.Status
	}
	fmt.Fprintln(w.stdout, line)
}
