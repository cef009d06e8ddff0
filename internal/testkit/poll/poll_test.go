package poll

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestUntilReturnsOnceTheCheckPasses(t *testing.T) {
	var n atomic.Int32
	err := Until(context.Background(), 5*time.Second, func() error {
		if n.Add(1) < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || n.Load() != 3 {
		t.Fatalf("err %v after %d checks, want nil after 3", err, n.Load())
	}
}

func TestUntilGivesUpWithTheLastError(t *testing.T) {
	start := time.Now()
	err := Until(context.Background(), 300*time.Millisecond, func() error { return errors.New("still 503") })
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "still 503") || !strings.Contains(err.Error(), "not within 300ms") {
		t.Fatalf("got %v", err)
	}
	if took < 300*time.Millisecond || took > 2*time.Second {
		t.Fatalf("gave up after %s for a 300 ms bound", took)
	}
}

func TestUntilStopsWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	err := Until(ctx, time.Minute, func() error { return errors.New("process gone") })
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "process gone") {
		t.Fatalf("got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("kept polling %s after the context ended", time.Since(start))
	}
}

func TestInterval(t *testing.T) {
	for within, want := range map[time.Duration]time.Duration{
		100 * time.Millisecond: 10 * time.Millisecond, time.Second: 20 * time.Millisecond, time.Minute: 100 * time.Millisecond,
	} {
		if got := Interval(within); got != want {
			t.Errorf("Interval(%s) = %s, want %s", within, got, want)
		}
	}
}

func TestStatus(t *testing.T) {
	var code atomic.Int32
	code.Store(http.StatusServiceUnavailable)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(int(code.Load()))
		_, _ = w.Write([]byte("degraded"))
	}))
	defer srv.Close()
	check := Status(srv.URL, http.StatusOK)
	if err := check(); err == nil || !strings.Contains(err.Error(), "503 Service Unavailable degraded") {
		t.Fatalf("got %v", err)
	}
	if err := Status(srv.URL, 0)(); err != nil {
		t.Fatalf("any answer: %v", err)
	}
	code.Store(http.StatusOK)
	if err := check(); err != nil {
		t.Fatal(err)
	}
	if err := Status(srv.URL, http.StatusOK, `"healthy"`)(); err == nil || !strings.Contains(err.Error(), `"\"healthy\""`) {
		t.Fatalf("missing fragment: %v", err)
	}
	if err := Status(srv.URL, http.StatusOK, "grad")(); err != nil {
		t.Fatal(err)
	}
}
