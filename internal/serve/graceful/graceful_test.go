package graceful

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/envconf"
)

// server is Serve on a real loopback listener.
type server struct {
	addr   string
	cancel context.CancelFunc
	done   chan struct{} // closed when Serve returned err
	err    error
}

func start(t *testing.T, h http.Handler, s Settings) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &server{addr: ln.Addr().String(), cancel: cancel, done: make(chan struct{})}
	go func() {
		srv.err = Serve(ctx, ln, h, slog.New(slog.DiscardHandler), s)
		close(srv.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-srv.done
	})
	return srv
}

// within fails the test unless ch yields before d.
func within[T any](t *testing.T, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("%s: nothing after %s", what, d)
		panic("unreachable")
	}
}

// trickle sends a POST's headers announcing a 1000-byte body, then one byte
// per tick until the connection fails or 100 bytes went out (a bound, so a
// server that never cuts it fails the test instead of hanging it).
func trickle(t *testing.T, addr string, tick time.Duration) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
	go func() {
		tk := time.NewTicker(tick)
		defer tk.Stop()
		for range 100 {
			<-tk.C
			if _, err := conn.Write([]byte{'x'}); err != nil {
				return
			}
		}
	}()
	return conn
}

// readBody answers 200 when the whole body arrived, else reports the error.
// started, when not nil, is closed as the handler begins.
func readBody(errs chan<- error, started chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if started != nil {
			close(started)
		}
		_, err := io.ReadAll(r.Body)
		errs <- err
		if err != nil {
			http.Error(w, "body: "+err.Error(), http.StatusRequestTimeout)
		}
	})
}

func TestTricklingBodyIsCutAtReadTimeout(t *testing.T) {
	errs := make(chan error, 1)
	srv := start(t, readBody(errs, nil), Settings{ReadTimeout: 300 * time.Millisecond})
	trickle(t, srv.addr, 50*time.Millisecond)
	err := within(t, errs, 4*time.Second, "the handler reading a trickled body")
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("body read ended with %v, want the read deadline", err)
	}
}

func TestBodyDeadlineDoesNotOutliveTheBody(t *testing.T) {
	// A handler that read its body and then works longer than ReadTimeout
	// (a long poll, a slow upstream) keeps its context: net/http's own
	// ReadTimeout would cancel it.
	srv := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		select {
		case <-time.After(600 * time.Millisecond): // the handler's own work
			fmt.Fprint(w, "done")
		case <-r.Context().Done():
			t.Errorf("context cancelled after the body was read: %v", context.Cause(r.Context()))
		}
	}), Settings{ReadTimeout: 200 * time.Millisecond})
	resp, err := http.Post("http://"+srv.addr, "text/plain", strings.NewReader("small"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); string(b) != "done" {
		t.Fatalf("got %d %q", resp.StatusCode, b)
	}
}

func TestHeadersOverTheLimitAre431(t *testing.T) {
	srv := start(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), Settings{})
	req, _ := http.NewRequest(http.MethodGet, "http://"+srv.addr, nil)
	req.Header.Set("X-Big", strings.Repeat("a", 2*DefaultMaxHeaderBytes))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("%d KiB of headers: %d, want 431", 2*DefaultMaxHeaderBytes>>10, resp.StatusCode)
	}
}

func TestWriteTimeoutCutsUnlessTheHandlerExtendsIt(t *testing.T) {
	const timeout = 200 * time.Millisecond
	srv := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/long-poll" {
			_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(10 * timeout))
		}
		select { // a blocking query waiting for a change
		case <-time.After(3 * timeout):
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "changed")
	}), Settings{WriteTimeout: timeout})
	resp, err := http.Get("http://" + srv.addr + "/long-poll")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "changed" {
		t.Fatalf("long poll that extended its deadline: %d %q", resp.StatusCode, b)
	}
	if resp, err := http.Get("http://" + srv.addr + "/plain"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("a handler writing after WriteTimeout got its answer through: %d %q", resp.StatusCode, b)
	}
}

func TestShutdownCutsAStuckClientAndSucceeds(t *testing.T) {
	// The review's case: a client trickling a body holds its handler past
	// the drain deadline; SIGTERM must still end in a clean exit.
	errs := make(chan error, 1)
	started := make(chan struct{})
	srv := start(t, readBody(errs, started), Settings{ReadTimeout: time.Minute, ShutdownGrace: 300 * time.Millisecond})
	conn := trickle(t, srv.addr, 50*time.Millisecond)
	within(t, started, 2*time.Second, "the request to be in flight")
	srv.cancel()
	within(t, srv.done, 5*time.Second, "Serve after the drain deadline")
	if srv.err != nil {
		t.Fatalf("Serve = %v, want nil after cutting the stuck client", srv.err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := bufio.NewReader(conn).ReadByte(); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the stuck client's connection is still open (read: %v)", err)
	}
}

func TestSettingsValidate(t *testing.T) {
	if err := (Settings{ReadTimeout: -1, MaxHeaderBytes: -1}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "ReadTimeout") || !strings.Contains(err.Error(), "MaxHeaderBytes") {
		t.Fatalf("Validate = %v, want both bad fields named", err)
	}
}

func TestLoadReadsTheSharedVariables(t *testing.T) {
	r := envconf.New(envconf.Map(map[string]string{
		"HTTP_READ_TIMEOUT": "5", "HTTP_WRITE_TIMEOUT": "2m", "HTTP_MAX_HEADER_BYTES": "8192",
	}))
	s := Load(r)
	if r.Err() != nil || s.ReadTimeout != 5*time.Second || s.WriteTimeout != 2*time.Minute ||
		s.MaxHeaderBytes != 8192 || s.ReadHeaderTimeout != DefaultReadHeaderTimeout || s.ShutdownGrace != ShutdownGrace {
		t.Fatalf("Load = %+v, %v", s, r.Err())
	}
	r = envconf.New(envconf.Map(map[string]string{"HTTP_IDLE_TIMEOUT": "soon", "HTTP_MAX_HEADER_BYTES": "100"}))
	Load(r)
	if err := r.Err(); err == nil || !strings.Contains(err.Error(), "HTTP_IDLE_TIMEOUT") ||
		!strings.Contains(err.Error(), "HTTP_MAX_HEADER_BYTES") {
		t.Fatalf("err = %v, want both bad variables named", err)
	}
}
