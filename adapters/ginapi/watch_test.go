package ginapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/ginapi"
	"github.com/vertice/vertice/adapters/memstore"
	"github.com/vertice/vertice/domain/registry"
	"github.com/vertice/vertice/ports/portstest"
)

// answer is one response, as a blocking client sees it.
type answer struct {
	code  int
	index uint64
	body  string
	took  time.Duration
}

func (f *fixture) get(path string) answer {
	f.t.Helper()
	start := time.Now()
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	idx, err := strconv.ParseUint(rec.Header().Get(ginapi.IndexHeader), 10, 64)
	if err != nil && rec.Code < 400 {
		f.t.Fatalf("GET %s: %d without a valid %s header", path, rec.Code, ginapi.IndexHeader)
	}
	return answer{code: rec.Code, index: idx, body: rec.Body.String(), took: time.Since(start)}
}

// getAsync starts a GET and returns where its answer will arrive.
func (f *fixture) getAsync(path string) <-chan answer {
	out := make(chan answer, 1)
	go func() { out <- f.get(path) }()
	return out
}

func within(t *testing.T, ch <-chan answer, bound time.Duration, what string) answer {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(bound):
		t.Fatalf("%s: no answer within %s", what, bound)
		return answer{}
	}
}

func TestEveryReadCarriesAnIndex(t *testing.T) {
	f := newFixture(t, "")
	missing := f.get("/services/my_service")
	if missing.code != 404 || missing.index == 0 {
		t.Fatalf("a 404 must carry an index: %+v", missing)
	}
	f.mustDo(201, "POST", "/register", seedBody)
	found := f.get("/services/my_service")
	if found.code != 200 || found.index <= missing.index {
		t.Fatalf("registering must move the service's index: %d -> %+v", missing.index, found)
	}
	if list := f.get("/services"); list.code != 200 || list.index == 0 {
		t.Fatalf("the list must carry the catalog's index: %+v", list)
	}
}

func TestBlockingLookupWakesOnChange(t *testing.T) {
	f := newFixture(t, "")
	f.mustDo(201, "POST", "/register", seedBody)
	idx := f.get("/services/my_service").index
	waiting := f.getAsync("/services/my_service?index=" + strconv.FormatUint(idx, 10) + "&wait=30s")
	f.mustDo(201, "POST", "/register", `{"service_name":"my_service","instance_id":"second","endpoint":"http://second:8080"}`)
	got := within(t, waiting, 5*time.Second, "a register while a lookup waits")
	if got.code != 200 || got.index <= idx || !strings.Contains(got.body, `"second"`) {
		t.Fatalf("woken lookup: %+v", got)
	}
}

func TestBlockingLookupWaitsForAServiceToAppear(t *testing.T) {
	f := newFixture(t, "")
	missing := f.get("/services/later_service")
	waiting := f.getAsync("/services/later_service?index=" + strconv.FormatUint(missing.index, 10))
	f.mustDo(201, "POST", "/register", `{"service_name":"other_service","endpoint":"http://other:8080"}`)
	select {
	case a := <-waiting:
		t.Fatalf("another service's registration woke the wait: %+v", a)
	case <-time.After(100 * time.Millisecond):
	}
	f.mustDo(201, "POST", "/register", `{"service_name":"later_service","endpoint":"http://later:8080"}`)
	if got := within(t, waiting, 5*time.Second, "the service appearing"); got.code != 200 {
		t.Fatalf("woken lookup: %+v", got)
	}
}

func TestBlockingLookupIgnoresRenewalsAndEndsAtItsWait(t *testing.T) {
	f := newFixture(t, "")
	f.mustDo(201, "POST", "/register", seedBody)
	idx := f.get("/services/my_service").index
	waiting := f.getAsync("/services/my_service?index=" + strconv.FormatUint(idx, 10) + "&wait=300ms")
	f.mustDo(200, "POST", "/heartbeat", `{"service_name":"my_service"}`)
	got := within(t, waiting, 5*time.Second, "the wait's end")
	if got.code != 200 || got.index != idx {
		t.Fatalf("a renewal changed the answer: %+v, index was %d", got, idx)
	}
	if got.took < 300*time.Millisecond {
		t.Fatalf("answered after %s: a renewal must not wake a blocking lookup", got.took)
	}
}

func TestStaleIndexAnswersAtOnce(t *testing.T) {
	f := newFixture(t, "")
	f.mustDo(201, "POST", "/register", seedBody)
	got := within(t, f.getAsync("/services/my_service?index=1&wait=10m"), time.Second, "an old index")
	if got.code != 200 || got.index == 1 {
		t.Fatalf("%+v", got)
	}
}

func TestBlockingListWakesWhenAServiceAppears(t *testing.T) {
	f := newFixture(t, "")
	idx := f.get("/services").index
	waiting := f.getAsync("/services?index=" + strconv.FormatUint(idx, 10) + "&wait=30s")
	f.mustDo(201, "POST", "/register", seedBody)
	got := within(t, waiting, 5*time.Second, "a new service")
	if got.body != `["my_service"]` || got.index <= idx {
		t.Fatalf("%+v", got)
	}
}

func TestBadBlockingParameters(t *testing.T) {
	f := newFixture(t, "")
	for path, param := range map[string]string{
		"/services/x?index=abc":           "index:",
		"/services/x?index=-1":            "index:",
		"/services?index=1&wait=forever":  "wait:",
		"/services/x?index=1&wait=-5s":    "wait:",
		"/services/x?index=1&wait=0":      "wait:",
		"/v1/catalog/indexes?index=x":     "index:",
		"/v1/catalog/indexes?service=A-B": "service_name",
	} {
		got := f.get(path)
		if got.code != 400 || !strings.Contains(got.body, param) {
			t.Errorf("GET %s: want 400 naming %q, got %d %s", path, param, got.code, got.body)
		}
	}
}

func TestChangeFeedSaysWhichServicesMoved(t *testing.T) {
	f := newFixture(t, "")
	f.mustDo(201, "POST", "/register", `{"service_name":"a_service","endpoint":"http://a:8080"}`)
	f.mustDo(201, "POST", "/register", `{"service_name":"b_service","endpoint":"http://b:8080"}`)
	first := f.get("/v1/catalog/indexes")
	var all struct {
		Services map[string]uint64
		Removed  map[string]uint64
		Complete bool
	}
	if err := json.Unmarshal([]byte(first.body), &all); err != nil || !all.Complete || len(all.Services) != 2 {
		t.Fatalf("first answer must list everything: %s %v", first.body, err)
	}
	waiting := f.getAsync("/v1/catalog/indexes?index=" + strconv.FormatUint(first.index, 10) + "&wait=30s")
	f.mustDo(200, "DELETE", "/services/b_service", "")
	got := within(t, waiting, 5*time.Second, "a deregistration")
	var ch struct {
		Services map[string]uint64
		Removed  map[string]uint64
		Complete bool
	}
	if err := json.Unmarshal([]byte(got.body), &ch); err != nil {
		t.Fatal(err)
	}
	if ch.Complete || len(ch.Services) != 0 || len(ch.Removed) != 1 || ch.Removed["b_service"] <= first.index ||
		got.index < ch.Removed["b_service"] {
		t.Fatalf("want only b_service removed, after %d and at most at %d: %s", first.index, got.index, got.body)
	}
	// A feed for a_service alone is not woken by b_service.
	onlyA := f.get("/v1/catalog/indexes?service=a_service")
	waiting = f.getAsync("/v1/catalog/indexes?service=a_service&wait=300ms&index=" + strconv.FormatUint(onlyA.index, 10))
	f.mustDo(201, "POST", "/register", `{"service_name":"b_service","endpoint":"http://b:8080"}`)
	if got := within(t, waiting, 5*time.Second, "the wait's end"); got.took < 300*time.Millisecond || got.index != onlyA.index {
		t.Fatalf("b_service woke a feed for a_service: %+v", got)
	}
}

// TestShutdownEndsWaits: when the API's context ends (the server stops),
// every waiting read answers at once with what is current.
func TestShutdownEndsWaits(t *testing.T) {
	clock := portstest.NewFakeClock(time.Unix(1761310133, 0))
	store := memstore.New(clock)
	ctx, stop := context.WithCancel(context.Background())
	h := ginapi.New(ginapi.Options{Registry: registry.New(store, store, clock, 0), Context: ctx})
	srv := httptest.NewServer(h)
	defer srv.Close()
	done := make(chan int, 1)
	go func() {
		resp, err := http.Get(srv.URL + "/services?index=" + strconv.FormatUint(store.CatalogIndex(), 10) + "&wait=10m")
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	time.Sleep(50 * time.Millisecond) // pacing only: let the request start waiting
	stop()
	select {
	case code := <-done:
		if code != 200 {
			t.Fatalf("a wait ended by shutdown answered %d, want 200 with the current state", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown did not end the wait")
	}
}
