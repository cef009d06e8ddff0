package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/testkit/dockertest"
)

// The promises of the versioned catalog, on the wired registry: a change
// through one replica shows on every replica within 100 ms, a lease's end
// within 1 s, and SIGTERM ends every waiting request. The assertions allow
// generous slack for a busy machine; bench:propagation measures.

// replicaBound is the slack on the 100 ms promise.
const replicaBound = time.Second

// registryEnv is the configuration of a test registry on REDIS_URL url
// (memory when empty).
func registryEnv(url string, extra ...string) map[string]string {
	env := map[string]string{"REGISTRY_ADDR": "127.0.0.1:0", "REGISTRY_TTL": "60s"}
	if url != "" {
		env["REDIS_URL"] = url
	}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return env
}

// get returns a GET's status, body and X-Vertice-Index.
func get(t *testing.T, url string) (int, string, uint64) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	idx, _ := strconv.ParseUint(resp.Header.Get("X-Vertice-Index"), 10, 64)
	return resp.StatusCode, string(body), idx
}

func send(t *testing.T, method, url, body string, want int) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d", method, url, resp.StatusCode, want)
	}
}

// TestRandomWritesShowOnEveryReplica: writers register and deregister
// instances at random through two replicas on one Redis; after each
// write's answer, both replicas must answer the new state (polled; the
// promise is 100 ms, the test allows replicaBound).
func TestRandomWritesShowOnEveryReplica(t *testing.T) {
	url := "redis://" + dockertest.StartRedis(t).MustAddr(t)
	replicas := []string{startRegistry(t, registryEnv(url)), startRegistry(t, registryEnv(url))}
	const writers, writes = 6, 25
	var mu sync.Mutex
	var worst time.Duration
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			service := fmt.Sprintf("random_%d", w)
			live := map[string]bool{}
			for range writes {
				id := fmt.Sprintf("i%d", rng.IntN(3))
				through := replicas[rng.IntN(len(replicas))]
				if live[id] {
					send(t, "DELETE", through+"/services/"+service+"/"+id, "", 200)
					delete(live, id)
				} else {
					send(t, "POST", through+"/register", register(service, id), 201)
					live[id] = true
				}
				took := waitAllShow(t, replicas, service, live)
				mu.Lock()
				worst = max(worst, took)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("%d writes through two replicas: slowest to show on both %s", writers*writes, worst)
}

// waitAllShow polls every replica until each lists exactly live for
// service, and returns how long the slowest took.
func waitAllShow(t *testing.T, replicas []string, service string, live map[string]bool) time.Duration {
	want := make([]string, 0, len(live))
	for id := range live {
		want = append(want, id)
	}
	sort.Strings(want)
	start := time.Now()
	for _, base := range replicas {
		for {
			got := instanceIDs(t, base, service)
			if slices.Equal(got, want) {
				break
			}
			if time.Since(start) > replicaBound {
				t.Errorf("%s on %s: %v, want %v, %s after the write's answer", service, base, got, want, time.Since(start))
				return time.Since(start)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return time.Since(start)
}

func instanceIDs(t *testing.T, base, service string) []string {
	code, body, _ := get(t, base+"/services/"+service)
	if code == 404 {
		return []string{}
	}
	var ids []string
	for _, part := range strings.Split(body, `"instance_id":"`)[1:] {
		id, _, _ := strings.Cut(part, `"`)
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 { // one instance: the v1 object has no instance_id
		_, rest, _ := strings.Cut(body, `"endpoint":"http://`)
		host, _, _ := strings.Cut(rest, ":")
		ids = []string{host}
	}
	sort.Strings(ids)
	return ids
}

// TestBlockingQueryEndsAtTheLeasesEnd: a lookup blocking on a service
// whose only lease ends (no heartbeat) answers 404 within 1 s of the end,
// on the memory store and on another replica on Redis.
func TestBlockingQueryEndsAtTheLeasesEnd(t *testing.T) {
	url := "redis://" + dockertest.StartRedis(t).MustAddr(t)
	cases := map[string]func() (writeTo, watchOn string){
		"memory": func() (string, string) {
			r := startRegistry(t, registryEnv("", "REGISTRY_TTL", "1s"))
			return r, r
		},
		"redis, two replicas": func() (string, string) {
			return startRegistry(t, registryEnv(url, "REGISTRY_TTL", "1s")), startRegistry(t, registryEnv(url, "REGISTRY_TTL", "1s"))
		},
	}
	for name, start := range cases {
		t.Run(name, func(t *testing.T) {
			writeTo, watchOn := start()
			send(t, "POST", writeTo+"/register", register("short_lived", "x"), 201)
			leaseEnd := time.Now().Add(time.Second)
			var idx uint64
			deadline := time.Now().Add(replicaBound)
			for idx == 0 {
				if code, _, i := get(t, watchOn+"/services/short_lived"); code == 200 {
					idx = i
				} else if time.Now().After(deadline) {
					t.Fatalf("the registration did not show on the watching replica within %s", replicaBound)
				}
			}
			code, _, _ := get(t, fmt.Sprintf("%s/services/short_lived?index=%d&wait=30s", watchOn, idx))
			late := time.Since(leaseEnd)
			t.Logf("answered %d, %s after the lease's end", code, late)
			if code != 404 || late > time.Second+replicaBound {
				t.Fatalf("answered %d %s after the lease's end; want 404 within 1 s (+%s slack)", code, late, replicaBound)
			}
		})
	}
}

// TestShutdownAnswersWaitingRequests: SIGTERM (the context's end) makes a
// request waiting for ten minutes answer at once with the current state,
// and the registry exits cleanly.
func TestShutdownAnswersWaitingRequests(t *testing.T) {
	base, stop := runRegistry(t, registryEnv(""))
	_, _, idx := get(t, base+"/services")
	answered := make(chan int, 1)
	go func() {
		code, _, _ := get(t, fmt.Sprintf("%s/services?index=%d&wait=10m", base, idx))
		answered <- code
	}()
	time.Sleep(100 * time.Millisecond) // pacing only: let the request start waiting
	stopped := make(chan struct{})
	go func() { defer close(stopped); stop() }()
	select {
	case code := <-answered:
		if code != 200 {
			t.Fatalf("the waiting request got %d, want 200", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown left a waiting request hanging")
	}
	<-stopped // stop fails the test unless the registry ends cleanly
}
