package wrk

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/testkit/freeport"
)

func TestLuaString(t *testing.T) {
	got := luaString("a\"b\\c\nd\té")
	want := `"a\"b\\c\010d\009\195\169"`
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestValidateNamesTheOption(t *testing.T) {
	ok := Options{URL: "http://127.0.0.1:1/", Connections: 2, Duration: time.Second}
	for _, c := range []struct {
		edit func(*Options)
		want string
	}{
		{func(o *Options) { o.URL = "" }, "URL"},
		{func(o *Options) { o.Connections = 0 }, "Connections"},
		{func(o *Options) { o.Threads = 3 }, "Threads"},
		{func(o *Options) { o.Duration = 0 }, "Duration"},
		{func(o *Options) { o.Requests = []Request{{Method: "GET", Path: "x"}} }, "Requests[0]"},
	} {
		o := ok
		c.edit(&o)
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error naming %s", o, err, c.want)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestRunInWrk runs the real wrk against a recording server: the requests
// arrive in turn, with their bodies intact and Content-Type set on POSTs;
// the report, written by done(), agrees with what the server saw and counts
// the error statuses.
func TestRunInWrk(t *testing.T) {
	bin := Need(t)
	type seen struct{ method, path, ctype, body string }
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.Path, r.Header.Get("Content-Type"), string(b)})
		mu.Unlock()
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	reqs := []Request{
		{Method: http.MethodGet, Path: "/services/a"},
		{Method: http.MethodPost, Path: "/register", Body: []byte(`{"service_name":"q\"uote\\d é","n":1}`)},
		{Method: http.MethodGet, Path: "/fail"},
	}
	dir := t.TempDir()
	res, err := Run(context.Background(), Options{Bin: bin, URL: srv.URL, Connections: 1, Duration: time.Second,
		Timeout: 5 * time.Second, Requests: reqs, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if res.Requests < 3 || len(got) < res.Requests || len(got) > res.Requests+1 {
		t.Fatalf("wrk answered %d, server saw %d", res.Requests, len(got))
	}
	// wrk calls request() once before the run (to count pipelined
	// requests), so the cycle starts wherever that left it.
	off := -1
	for j, r := range reqs {
		if r.Path == got[0].path {
			off = j
		}
	}
	for i, s := range got {
		r := reqs[(i+off+len(reqs))%len(reqs)]
		want := seen{r.Method, r.Path, "", string(r.Body)}
		if r.Body != nil {
			want.ctype = "application/json"
		}
		if s != want {
			t.Fatalf("request %d: got %+v, want %+v", i, s, want)
		}
	}
	if third := res.Requests / 3; res.Non2xx < third || res.Non2xx > third+1 || !res.TooManyErrors() {
		t.Errorf("non-2xx %d of %d (too many: %v); want a third", res.Non2xx, res.Requests, res.TooManyErrors())
	}
	if res.Elapsed < time.Second || res.Elapsed > 3*time.Second {
		t.Errorf("elapsed %s for a 1 s run", res.Elapsed)
	}
	if rps := float64(res.Requests) / res.Elapsed.Seconds(); res.RPS < 0.99*rps || res.RPS > 1.01*rps {
		t.Errorf("RPS %.1f, want requests/elapsed %.1f", res.RPS, rps)
	}
	if res.P50 <= 0 || res.P50 > res.P99 || res.P99 > res.Max || res.Min > res.P50 || res.Mean <= 0 || res.CPU <= 0 {
		t.Errorf("latencies or CPU out of order: %+v", res)
	}
	if want := fmt.Sprintf("%d (non-2xx %d)", res.Non2xx, res.Non2xx); res.ErrorText() != want {
		t.Errorf("error text %q", res.ErrorText())
	}
	if left, _ := os.ReadDir(dir); len(left) != 2 {
		t.Errorf("Dir holds %d files, want the script and its result", len(left))
	}
}

// TestRunFailsWhenNothingListens: wrk's own connection check fails the run
// with wrk's reason, rather than reporting a run of nothing.
func TestRunFailsWhenNothingListens(t *testing.T) {
	bin := Need(t)
	addr := freeport.MustAddr(t) // nothing listens there
	res, err := Run(context.Background(), Options{Bin: bin, URL: "http://" + addr + "/", Connections: 2, Duration: time.Second})
	if err == nil || !strings.Contains(err.Error(), "unable to connect") {
		t.Fatalf("against a closed port: %+v, %v; want wrk's connection error", res, err)
	}
}

func TestParseRejectsForeignOutput(t *testing.T) {
	for _, b := range []string{"Running 1s test @ http://x\n", `{"duration_us":0,"requests":1}`, `{"duration_us":1,"rps":2}`} {
		if _, err := parse([]byte(b)); err == nil {
			t.Errorf("%s: want an error", b)
		}
	}
}

// BenchmarkBench shows Bench's output on a trivial server in this process:
// go test -run '^$' -bench . -benchtime 2s ./internal/bench/wrk/
func BenchmarkBench(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	Bench(b, Options{Bin: Need(b), URL: srv.URL + "/", Connections: 4})
}
