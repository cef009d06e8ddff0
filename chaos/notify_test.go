package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/testkit/cluster"
	"github.com/vertice/vertice/internal/testkit/poll"
)

// notifyBound is the slack on the promise that a change shows on every
// replica within 100 ms of its write's answer.
const notifyBound = time.Second

// 8. cut one replica's change notifications (its pub/sub connection to
// Redis, through Toxiproxy) while writes go through another replica: once
// the cut replica notices, its lookups read Redis, so none is older than
// the bound; a watcher waiting on it through the cut wakes after healing
// with the final state, and the copy follows notifications again.
func registryNotificationsLinkSilent(t *testing.T) {
	c := cluster.New(t)
	c.Redis()
	px := c.Toxiproxy().Proxy("redis-notify", 16380, cluster.RedisAlias+":6379")
	a := c.Registry("registry-a", nil)
	b := c.Registry("registry-b", map[string]string{"REDIS_NOTIFY_URL": "redis://" + px.Addr})
	const service = "notify_probe"
	register(t, a, service, "p1")
	waitShows(t, b, service, "p1")
	watch := startWatch(t, b, service)

	px.Silence()
	noticed := poll.Eventually(t, 5*time.Second, "B notices its notifications are cut", func() error {
		return notifications(b, "down")
	})
	t.Logf("B noticed the silent subscription after %s", ms(noticed))
	for _, step := range []struct {
		write func()
		want  []string
	}{
		{func() { register(t, a, service, "p2") }, []string{"p1", "p2"}},
		{func() { deregister(t, a, service, "p1") }, []string{"p2"}},
		{func() { register(t, a, service, "p3") }, []string{"p2", "p3"}},
	} {
		step.write()
		took := waitShows(t, b, service, step.want...)
		t.Logf("while cut, B showed %v %s after the write's answer", step.want, ms(took))
	}

	px.Heal()
	poll.Eventually(t, 10*time.Second, "B follows notifications again", func() error { return notifications(b, "up") })
	deadline := time.After(10 * time.Second)
watching:
	for {
		select {
		case got := <-watch:
			if slices.Equal(got, []string{"p2", "p3"}) {
				break watching
			}
		case <-deadline:
			t.Fatal("the watcher that waited through the cut did not reach the final state [p2 p3] after healing")
		}
	}
	register(t, a, service, "p4")
	took := waitShows(t, b, service, "p2", "p3", "p4")
	t.Logf("healed: a new write shows on B after %s", ms(took))
}

func register(t *testing.T, reg *cluster.Node, service, id string) {
	t.Helper()
	r, err := cluster.Do(http.MethodPost, reg.URL()+"/register",
		fmt.Sprintf(`{"service_name":%q,"instance_id":%q,"endpoint":"http://%s:8080"}`, service, id, id))
	if err != nil || r.Code != http.StatusCreated {
		t.Fatalf("register %s through %s: %d %s %v", id, reg.Alias, r.Code, r.Body, err)
	}
}

func deregister(t *testing.T, reg *cluster.Node, service, id string) {
	t.Helper()
	r, err := cluster.Do(http.MethodDelete, reg.URL()+"/services/"+service+"/"+id, "")
	if err != nil || r.Code != http.StatusOK {
		t.Fatalf("deregister %s through %s: %d %s %v", id, reg.Alias, r.Code, r.Body, err)
	}
}

// waitShows polls reg until its lookup lists exactly ids, and fails past
// notifyBound.
func waitShows(t *testing.T, reg *cluster.Node, service string, ids ...string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got, _, err := instanceIDs(http.DefaultClient, reg.URL()+"/services/"+service)
		if err == nil && slices.Equal(got, ids) {
			return time.Since(start)
		}
		if time.Since(start) > notifyBound {
			t.Fatalf("%s lists %v (%v), want %v, %s after the write's answer", reg.Alias, got, err, ids, time.Since(start))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// instanceIDs is a lookup's instance IDs, sorted, and its index.
func instanceIDs(client *http.Client, url string) ([]string, uint64, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	idx, _ := strconv.ParseUint(resp.Header.Get("X-Vertice-Index"), 10, 64)
	if resp.StatusCode == http.StatusNotFound {
		return []string{}, idx, nil
	}
	var l struct {
		InstanceID string `json:"instance_id"`
		Endpoint   string `json:"endpoint"`
		Instances  []struct {
			InstanceID string `json:"instance_id"`
		} `json:"instances"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		return nil, idx, err
	}
	var ids []string
	for _, in := range l.Instances {
		ids = append(ids, in.InstanceID)
	}
	if len(ids) == 0 { // one instance: the v1 object has no instance_id
		host := strings.TrimPrefix(l.Endpoint, "http://")
		host, _, _ = strings.Cut(host, ":")
		ids = []string{host}
	}
	sort.Strings(ids)
	return ids, idx, nil
}

// startWatch watches service on reg as a client does: one blocking lookup
// after another, each from the index the last answered; it sends every
// answer until the test ends.
func startWatch(t *testing.T, reg *cluster.Node, service string) <-chan []string {
	t.Helper()
	_, idx, err := instanceIDs(http.DefaultClient, reg.URL()+"/services/"+service)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan []string, 100)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		client := &http.Client{Timeout: time.Minute}
		for ctx.Err() == nil {
			ids, next, err := instanceIDs(client, fmt.Sprintf("%s/services/%s?index=%d&wait=45s", reg.URL(), service, idx))
			if err != nil {
				time.Sleep(100 * time.Millisecond) // pacing of a retry, as a client's
				continue
			}
			idx = next
			select {
			case out <- ids:
			case <-ctx.Done():
			}
		}
	}()
	return out
}

// notifications checks what reg's /health says of its notifications.
func notifications(reg *cluster.Node, state string) error {
	r, err := cluster.Get(reg.URL() + "/health")
	if err != nil {
		return err
	}
	if !strings.Contains(r.Body, `"notifications":"`+state) {
		return fmt.Errorf("/health: %s", r.Body)
	}
	return nil
}
