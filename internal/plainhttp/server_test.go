package plainhttp_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/plainhttp"
)

// serveTest runs Serve on a loopback port until the test ends and returns
// its address, its stop, and a channel closed when Serve has returned
// (its error then in *result).
func serveTest(t *testing.T, h plainhttp.Handler) (addr string, stop context.CancelFunc, done <-chan struct{}, result *error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	finished, res := make(chan struct{}), new(error)
	go func() {
		*res = plainhttp.Serve(ctx, ln, h, slog.New(slog.DiscardHandler))
		close(finished)
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	return ln.Addr().String(), cancel, finished, res
}

func echoPath(path string) plainhttp.Answer {
	if path == "/missing" {
		return plainhttp.NotFound(path)
	}
	return plainhttp.Answer{Status: 200, ContentType: "text/plain", Body: []byte("path " + path)}
}

func TestServerSpeaksHTTPToNetHTTPClients(t *testing.T) {
	addr, _, _, _ := serveTest(t, echoPath)
	for _, tc := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/health?verbose=1", 200, "path /health"},
		{"GET", "/missing", 404, "no such path: /missing\n"},
		{"HEAD", "/health", 200, ""},
		{"POST", "/health", 405, "method POST not allowed: GET or HEAD\n"},
	} {
		req, _ := http.NewRequest(tc.method, "http://"+addr+tc.path, strings.NewReader(""))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || string(body) != tc.body {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.body)
		}
		if tc.status == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("405 without Allow: %v", resp.Header)
		}
	}
}

func TestMalformedRequestGets400(t *testing.T) {
	addr, _, _, _ := serveTest(t, echoPath)
	for _, head := range []string{"GARBAGE\r\n\r\n", "GET noslash HTTP/1.1\r\n\r\n", "GET / SPDY/3\r\n\r\n"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.WriteString(c, head)
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 400 ") {
			t.Errorf("request %q: answered %q (%v), want 400", head, line, err)
		}
	}
}

func TestServeStopsWithItsContextAfterTheExchangeInProgress(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	addr, cancel, done, result := serveTest(t, func(path string) plainhttp.Answer {
		close(entered)
		<-release
		return echoPath(path)
	})
	answered := make(chan string, 1)
	go func() {
		resp, err := plainhttp.Client{Timeout: 5 * time.Second}.Do(context.Background(), mustURL(t, "http://"+addr+"/slow"))
		if err != nil {
			answered <- err.Error()
			return
		}
		answered <- string(resp.Body)
	}()
	<-entered
	cancel()
	select {
	case <-done:
		t.Fatalf("Serve returned (%v) with an exchange in progress", *result)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if got := <-answered; got != "path /slow" {
		t.Fatalf("in-flight request got %q", got)
	}
	select {
	case <-done:
		if *result != nil {
			t.Fatalf("Serve: %v", *result)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("still accepting after the context ended")
	}
}

// flakyListener fails its first Accepts the way a process out of file
// descriptors does.
type flakyListener struct {
	net.Listener
	failures int
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.failures > 0 {
		l.failures--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

func TestAcceptErrorsAreRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- plainhttp.Serve(ctx, &flakyListener{Listener: ln, failures: 3}, echoPath, slog.New(slog.DiscardHandler))
	}()
	resp, err := plainhttp.Client{Timeout: 5 * time.Second}.Do(context.Background(), mustURL(t, "http://"+ln.Addr().String()+"/health"))
	if err != nil || resp.Status != 200 {
		t.Fatalf("after accept errors: %+v, %v; want the server still answering", resp, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}
