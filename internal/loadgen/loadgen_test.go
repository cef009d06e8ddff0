package loadgen

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	for p, want := range map[float64]time.Duration{50: 50, 90: 90, 99: 99, 100: 100, 0: 1} {
		if got := Percentile(d, p); got != want {
			t.Errorf("p%v = %v want %v", p, got, want)
		}
	}
	if Percentile(nil, 99) != 0 {
		t.Error("empty")
	}
}

// TestRunCountsAndBounds drives a loopback server: exact request count,
// bodies delivered, statuses tallied, keep-alive connections reused.
func TestRunCountsAndBounds(t *testing.T) {
	var conns, posts atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			if string(b) != `{"a":1}` || r.Header.Get("Content-Type") != "application/json" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			posts.Add(1)
		}
		if strings.HasSuffix(r.URL.Path, "/missing") {
			w.WriteHeader(http.StatusNotFound)
		}
		io.WriteString(w, `{"ok":true}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	res, err := Run(context.Background(), Config{
		Addr: srv.Listener.Addr().String(), Concurrency: 4, Requests: 1000, Duration: 20 * time.Second,
		Next: func(i int) Request {
			switch i % 10 {
			case 0:
				return Request{Method: "POST", Path: "/x", Body: []byte(`{"a":1}`)}
			case 1:
				return Request{Method: "GET", Path: "/missing"}
			}
			return Request{Method: "GET", Path: "/x"}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 1000 || res.Errors != 100 || res.Statuses[200] != 900 || res.Statuses[404] != 100 || posts.Load() != 100 {
		t.Fatalf("%+v posts=%d", res, posts.Load())
	}
	if conns.Load() != 4 {
		t.Errorf("%d connections, want 4 kept alive", conns.Load())
	}
	if res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 || res.RPS <= 0 {
		t.Errorf("latencies %+v", res)
	}
}

func TestRunStopsAtDuration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	start := time.Now()
	res, err := Run(context.Background(), Config{
		Addr: srv.Listener.Addr().String(), Concurrency: 2, Duration: 300 * time.Millisecond,
		Next: func(int) Request { return Request{Method: "GET", Path: "/"} },
	})
	if err != nil || res.Requests == 0 || res.Errors != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("ran %s", took)
	}
}

// TestRunReadsEveryAnswerShape mixes answers the hand parser takes with
// ones it leaves to net/http (chunked, no body, large, closing), on the
// same keep-alive connections.
func TestRunReadsEveryAnswerShape(t *testing.T) {
	big := strings.Repeat("x", 40<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			io.WriteString(w, "part one")
			w.(http.Flusher).Flush()
			io.WriteString(w, "part two")
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/big":
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			io.WriteString(w, big)
		case "/close":
			w.Header().Set("Connection", "close")
			io.WriteString(w, "bye")
		default:
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"ok":true}`)
		}
	}))
	defer srv.Close()
	paths := []string{"/x", "/chunked", "/x", "/empty", "/big", "/x", "/close", "/x"}
	res, err := Run(context.Background(), Config{
		Addr: srv.Listener.Addr().String(), Concurrency: 3, Requests: 800, Duration: 20 * time.Second,
		Next: func(i int) Request { return Request{Method: "GET", Path: paths[i%len(paths)]} },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 800 || res.Errors != 0 || res.Statuses[201] != 400 || res.Statuses[204] != 100 || res.Statuses[200] != 300 {
		t.Fatalf("%+v", res)
	}
}
