package registry

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vertice/vertice/internal/bench/host"
)

// WatchResult is the cost of idle blocking queries on one replica, and
// who one change woke.
type WatchResult struct {
	Watchers, Services int
	// RSS of the registry before the watchers connected and once they all
	// wait, in kB.
	RSSBefore, RSSAfter int64
	// IdleCPU is the registry's CPU time over IdleFor with every watcher
	// waiting and nothing changing.
	IdleCPU, IdleFor time.Duration
	// A change to one service: how many of its watchers answered (Woken,
	// of Expected) and how many watchers of other services did (Others),
	// within WakeWindow; Slowest is the last of its watchers' answers.
	Woken, Expected, Others int
	Slowest                 time.Duration
}

// WakeWindow is how long after the change the watch phase counts answers.
const WakeWindow = time.Second

// watch holds cfg.Watchers blocking lookups (wait 10 minutes) on the
// registry at addr, spread over cfg.WatchServices services, measures the
// registry's memory and idle CPU, then changes one service and counts who
// answers.
func watch(ctx context.Context, cfg Config, addr string, pid int, log io.Writer) (WatchResult, error) {
	res := WatchResult{Watchers: cfg.Watchers, Services: min(cfg.WatchServices, cfg.Services), IdleFor: cfg.IdleFor}
	before, err := host.ProcessMemory(pid)
	if err != nil {
		return res, err
	}
	res.RSSBefore = before.RSS
	indexes := make([]uint64, res.Services)
	for i := range indexes {
		if indexes[i], err = lookupIndex(ctx, addr, serviceName(i)); err != nil {
			return res, err
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Watchers, DisableCompression: true}}
	var waiting atomic.Int64
	answered := make(chan watcherAnswer, cfg.Watchers)
	var wg sync.WaitGroup
	for w := range cfg.Watchers {
		svc := w % res.Services
		wg.Go(func() { answered <- hold(wctx, client, addr, svc, indexes[svc], &waiting) })
	}
	defer wg.Wait()
	defer cancel()
	// Every watcher's request is sent; give the registry the moment it
	// needs to read them all before measuring.
	deadline := time.Now().Add(30 * time.Second)
	for waiting.Load() < int64(cfg.Watchers) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // pacing: let the last requests reach their wait
	cpu0 := host.ProcessCPU(pid)
	select {
	case <-time.After(cfg.IdleFor):
	case <-ctx.Done():
		return res, ctx.Err()
	}
	res.IdleCPU = host.ProcessCPU(pid) - cpu0
	after, err := host.ProcessMemory(pid)
	if err != nil {
		return res, err
	}
	res.RSSAfter = after.RSS
	fmt.Fprintf(log, "watchers: %d waiting; registry RSS %d → %d kB; CPU %s over %s idle\n",
		cfg.Watchers, res.RSSBefore, res.RSSAfter, res.IdleCPU, cfg.IdleFor)
	changed := time.Now()
	if err := post(ctx, addr, "/register", registerBody(0, cfg.Instances+1)); err != nil {
		return res, err
	}
	res.Expected = (cfg.Watchers + res.Services - 1) / res.Services
	count(answered, changed, &res)
	fmt.Fprintf(log, "a change to %s woke %d of its %d watchers (slowest %s) and %d others\n",
		serviceName(0), res.Woken, res.Expected, res.Slowest, res.Others)
	return res, nil
}

// watcherAnswer is one watcher's answer: which service, and when.
type watcherAnswer struct {
	service int
	at      time.Time
	err     error
}

// hold sends one blocking lookup and waits for its answer.
func hold(ctx context.Context, client *http.Client, addr string, svc int, index uint64, waiting *atomic.Int64) watcherAnswer {
	url := fmt.Sprintf("http://%s/services/%s?index=%d&wait=10m", addr, serviceName(svc), index)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return watcherAnswer{service: svc, err: err}
	}
	waiting.Add(1)
	resp, err := client.Do(req)
	if err != nil {
		return watcherAnswer{service: svc, err: err}
	}
	resp.Body.Close()
	return watcherAnswer{service: svc, at: time.Now()}
}

// count reads the answers that arrive within WakeWindow of changed.
func count(answered <-chan watcherAnswer, changed time.Time, res *WatchResult) {
	window := time.After(WakeWindow)
	for {
		select {
		case a := <-answered:
			switch {
			case a.err != nil:
			case a.service == 0:
				res.Woken++
				res.Slowest = max(res.Slowest, a.at.Sub(changed))
			default:
				res.Others++
			}
		case <-window:
			return
		}
	}
}

// lookupIndex is a lookup's X-Vertice-Index.
func lookupIndex(ctx context.Context, addr, service string) (uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/services/"+service, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return strconv.ParseUint(resp.Header.Get("X-Vertice-Index"), 10, 64)
}

func post(ctx context.Context, addr, path string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("POST %s: %d", path, resp.StatusCode)
	}
	return nil
}
