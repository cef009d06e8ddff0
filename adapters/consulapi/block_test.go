package consulapi_test

import (
	"slices"
	"strconv"
	"testing"
	"time"
)

// blockingGet runs a GET in the background and hands back its answer.
func (f *fixture) blockingGet(path string) <-chan answer {
	out := make(chan answer, 1)
	go func() { out <- f.do("GET", path, "") }()
	return out
}

func expectWaiting(t *testing.T, ch <-chan answer, what string) {
	t.Helper()
	select {
	case a := <-ch:
		t.Fatalf("%s answered before any change: %d %s", what, a.code, a.body)
	case <-time.After(100 * time.Millisecond):
	}
}

func expectAnswer(t *testing.T, ch <-chan answer, what string) answer {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not answer within 5 s of the change", what)
	}
	return answer{}
}

// A blocking health/service waits for its service to change (a status
// flip is a change, a renewal is not); catalog/services and
// health/state/any wait for any change of any service, tags included.
func TestBlockingQueries(t *testing.T) {
	f := newFixture(t, "")
	f.must(200, "PUT", "/v1/agent/service/register", `{"Name":"web","ID":"w1","Address":"h","Tags":["a"],"Check":{"TTL":"30s","Status":"passing"}}`)
	web := f.must(200, "GET", "/v1/health/service/web", "").index()
	all := f.must(200, "GET", "/v1/catalog/services", "").index()
	if all < web {
		t.Fatalf("catalog/services' index %d is below a service's %d: it must be the highest", all, web)
	}
	idx := func(n uint64) string { return strconv.FormatUint(n, 10) }

	waiting := f.blockingGet("/v1/health/service/web?index=" + idx(web) + "&wait=10s")
	services := f.blockingGet("/v1/catalog/services?index=" + idx(all) + "&wait=10s")
	state := f.blockingGet("/v1/health/state/any?index=" + idx(all) + "&wait=10s")
	expectWaiting(t, waiting, "health/service")
	f.must(200, "PUT", "/v1/agent/check/pass/service:w1", "") // a renewal: nothing changes
	expectWaiting(t, waiting, "health/service after a renewal")
	expectWaiting(t, services, "catalog/services after a renewal")
	f.must(200, "PUT", "/v1/agent/check/warn/service:w1", "")
	if a := expectAnswer(t, waiting, "health/service"); a.code != 200 || a.index() <= web {
		t.Fatalf("woken: %d, index %d (was %d)", a.code, a.index(), web)
	}
	for name, ch := range map[string]<-chan answer{"catalog/services": services, "health/state/any": state} {
		if a := expectAnswer(t, ch, name); a.index() <= all {
			t.Fatalf("%s woken with index %d (was %d)", name, a.index(), all)
		}
	}

	// A tag change is a change to catalog/services.
	all = f.must(200, "GET", "/v1/catalog/services", "").index()
	services = f.blockingGet("/v1/catalog/services?index=" + idx(all) + "&wait=10s")
	expectWaiting(t, services, "catalog/services")
	f.must(200, "PUT", "/v1/agent/service/register", `{"Name":"web","ID":"w1","Address":"h","Tags":["b"],"Check":{"TTL":"30s"}}`)
	if a := expectAnswer(t, services, "catalog/services after a tag change"); a.body != `{"web":["b"]}` {
		t.Fatalf("catalog/services: %s", a.body)
	}

	// A service that does not exist yet can be waited for.
	none := f.must(200, "GET", "/v1/health/service/later", "")
	if none.body != "[]" || none.index() < 1 {
		t.Fatalf("unknown service: %s, index %d", none.body, none.index())
	}
	later := f.blockingGet("/v1/health/service/later?index=" + idx(none.index()) + "&wait=10s")
	expectWaiting(t, later, "health/service of a missing service")
	f.must(200, "PUT", "/v1/agent/service/register", `{"Name":"later","Address":"h","Check":{"TTL":"30s"}}`)
	if a := expectAnswer(t, later, "health/service of a new service"); a.body == "[]" {
		t.Fatal("woken without the new instance")
	}

	// The wait ends by itself, with the same index, as Consul's does.
	web = f.must(200, "GET", "/v1/health/service/web", "").index()
	start := time.Now()
	a := f.must(200, "GET", "/v1/health/service/web?index="+idx(web)+"&wait=200ms", "")
	if took := time.Since(start); a.index() != web || took < 200*time.Millisecond {
		t.Fatalf("a timed-out wait: index %d (want %d) after %s", a.index(), web, took)
	}
	if got := f.ops.take(); !slices.Contains(got, "watch 200") {
		t.Fatalf("blocking reads are counted as watch: %v", got)
	}
}
