package plainhttp_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/plainhttp"
)

func mustURL(t *testing.T, raw string) plainhttp.Request {
	t.Helper()
	u, err := plainhttp.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	return plainhttp.Request{Method: "GET", URL: u}
}

func TestRequestReachesNetHTTPIntact(t *testing.T) {
	type seen struct {
		method, uri, host, auth, ctype, conn string
		body                                 []byte
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.RequestURI, r.Host, r.Header.Get("Authorization"), r.Header.Get("Content-Type"),
			r.Header.Get("Connection"), b}
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	req := mustURL(t, srv.URL+"/register?x=1")
	req.Method, req.Body = "POST", []byte(`{"service_name":"a"}`)
	req.Header = map[string]string{"Authorization": "Bearer t", "Content-Type": "application/json"}
	resp, err := plainhttp.Client{}.Do(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 201 || string(resp.Body) != `{"ok":true}` {
		t.Fatalf("response %d %q", resp.Status, resp.Body)
	}
	s := <-got
	want := seen{"POST", "/register?x=1", req.URL.Host, "Bearer t", "application/json", "close", req.Body}
	if s.method != want.method || s.uri != want.uri || s.host != want.host || s.auth != want.auth ||
		s.ctype != want.ctype || s.conn != want.conn || !bytes.Equal(s.body, want.body) {
		t.Fatalf("server saw %+v, want %+v", s, want)
	}
}

func TestBodiesChunkedSizedAndCloseDelimited(t *testing.T) {
	long := strings.Repeat("0123456789", 2000) // 20 kB: net/http chunks it when flushed in parts
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			for i := 0; i < len(long); i += 5000 {
				_, _ = io.WriteString(w, long[i:i+5000])
				w.(http.Flusher).Flush()
			}
		case "/sized":
			w.Header().Set("Content-Length", "5")
			_, _ = io.WriteString(w, "hello")
		}
	}))
	defer srv.Close()
	closeDelimited := rawServer(t, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
	for _, tc := range []struct{ url, want string }{
		{srv.URL + "/chunked", long},
		{srv.URL + "/sized", "hello"},
		{"http://" + closeDelimited + "/", "until the end"},
	} {
		resp, err := plainhttp.Client{MaxBody: 1 << 20}.Do(context.Background(), mustURL(t, tc.url))
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		if string(resp.Body) != tc.want {
			t.Errorf("%s: body of %d bytes, want %d", tc.url, len(resp.Body), len(tc.want))
		}
	}
}

func TestMaxBodyKeepsTheStart(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "abcdefghij")
		w.(http.Flusher).Flush() // chunked
		_, _ = io.WriteString(w, "klmnop")
	}))
	defer srv.Close()
	resp, err := plainhttp.Client{MaxBody: 12}.Do(context.Background(), mustURL(t, srv.URL))
	if err != nil || string(resp.Body) != "abcdefghijkl" {
		t.Fatalf("got %q, %v; want the first 12 bytes", resp.Body, err)
	}
}

func TestInterimAnswersAreSkipped(t *testing.T) {
	addr := rawServer(t, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\ndown")
	resp, err := plainhttp.Client{}.Do(context.Background(), mustURL(t, "http://"+addr+"/"))
	if err != nil || resp.Status != 503 || string(resp.Body) != "down" {
		t.Fatalf("got %d %q %v, want the 503 after the 100", resp.Status, resp.Body, err)
	}
}

func TestGarbageIsAnError(t *testing.T) {
	for _, answer := range []string{"SSH-2.0-OpenSSH_9.2\r\n", "HTTP/1.1 abc OK\r\n\r\n", "HTTP/1.1 200 OK\r\nBad header line\r\n\r\n"} {
		addr := rawServer(t, answer)
		if resp, err := (plainhttp.Client{}).Do(context.Background(), mustURL(t, "http://"+addr+"/")); err == nil {
			t.Errorf("answer %q: got %+v and no error", answer, resp)
		}
	}
}

// A body cut short must not hide the status: a 404 is still the registry
// forgetting an instance, a 200 still a renewed lease.
func TestTruncatedBodyKeepsTheStatus(t *testing.T) {
	for _, tc := range []struct {
		answer string
		status int
		body   string
	}{
		{"HTTP/1.1 404 Not Found\r\nContent-Length: 40\r\n\r\n{\"detail\":", 404, `{"detail":`},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n", 200, "abc"},
	} {
		resp, err := (plainhttp.Client{}).Do(context.Background(), mustURL(t, "http://"+rawServer(t, tc.answer)+"/"))
		if err != nil || resp.Status != tc.status || string(resp.Body) != tc.body || resp.BodyErr == nil {
			t.Errorf("answer %q: got %d %q (body error %v), %v; want %d %q and a body error",
				tc.answer, resp.Status, resp.Body, resp.BodyErr, err, tc.status, tc.body)
		}
	}
}

// Answers without a body to read, and calls that do not want it, return
// as soon as the head is in: these servers then hold the connection open,
// so reading on would wait for the deadline.
func TestReturnsWithoutWaitingForBodiesItNeedNotRead(t *testing.T) {
	for _, tc := range []struct {
		name, method, answer string
		client               plainhttp.Client
		body                 string
	}{
		{"HEAD", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", plainhttp.Client{}, ""},
		{"204", "GET", "HTTP/1.1 204 No Content\r\n\r\n", plainhttp.Client{}, ""},
		{"SkipBody", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", plainhttp.Client{SkipBody: true}, ""},
		{"chunked past MaxBody", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n5\r\nworld\r\n",
			plainhttp.Client{MaxBody: 7}, "hellowo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := mustURL(t, "http://"+holdingServer(t, tc.answer)+"/")
			req.Method = tc.method
			tc.client.Timeout = 10 * time.Second
			start := time.Now()
			resp, err := tc.client.Do(context.Background(), req)
			if err != nil || string(resp.Body) != tc.body || resp.BodyErr != nil {
				t.Fatalf("got %+v, %v; want body %q and no body error", resp, err, tc.body)
			}
			if waited := time.Since(start); waited > 5*time.Second {
				t.Fatalf("waited %v for a body it should not read", waited)
			}
		})
	}
}

func TestParentContextCancelEndsTheCall(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := plainhttp.Client{}.Do(ctx, mustURL(t, "http://"+holdingServer(t, "")+"/"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled from a cancelled call, got %v", err)
	}
}

func TestTimeoutBoundsAHungServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accepts, never answers
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	start := time.Now()
	_, err = plainhttp.Client{Timeout: 100 * time.Millisecond}.Do(context.Background(), mustURL(t, "http://"+ln.Addr().String()+"/"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want a deadline error, got %v", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("waited %v for a 100 ms timeout", waited)
	}
}

func TestRefusesWhatItCannotSendSafely(t *testing.T) {
	for _, raw := range []string{"https://registry:443/", "registry:80", "/register", "http:///x"} {
		if _, err := plainhttp.ParseURL(raw); err == nil {
			t.Errorf("ParseURL(%q) accepted it", raw)
		}
	}
	if _, err := plainhttp.ParseURL("http://user:secret@registry:80/"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("credentials in the URL must be refused without echoing them, got %v", err)
	}
	req := mustURL(t, "http://127.0.0.1:1/")
	req.Header = map[string]string{"Authorization": "Bearer x\r\nX-Injected: 1"}
	if _, err := (plainhttp.Client{}).Do(context.Background(), req); err == nil || !strings.Contains(err.Error(), "line breaks") {
		t.Fatalf("a header with a line break must be refused before dialing, got %v", err)
	}
	req.Header, req.Method = nil, "GET / HTTP/1.1\r\nX-Injected: 1\r\n"
	if _, err := (plainhttp.Client{}).Do(context.Background(), req); err == nil || !strings.Contains(err.Error(), "method") {
		t.Fatalf("a method with spaces and line breaks must be refused before dialing, got %v", err)
	}
}

// rawServer answers every connection with answer after reading the request
// head, then closes it; it returns host:port.
func rawServer(t *testing.T, answer string) string { return scriptedServer(t, answer, false) }

// holdingServer writes answer after the request head, then keeps the
// connection open until the client closes it; it returns host:port.
func holdingServer(t *testing.T, answer string) string { return scriptedServer(t, answer, true) }

func scriptedServer(t *testing.T, answer string, hold bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for line, err := br.ReadString('\n'); err == nil && line != "\r\n"; line, err = br.ReadString('\n') {
				}
				_, _ = io.WriteString(c, answer)
				if hold {
					_, _ = io.Copy(io.Discard, br) // until the client hangs up
				}
			}()
		}
	}()
	return ln.Addr().String()
}
