package plainhttp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"time"
)

// connTimeout bounds one exchange on the server: reading the request and
// writing the answer. Status endpoints answer in microseconds; a client
// that trickles its request in does not hold a goroutine longer than this.
const connTimeout = 5 * time.Second

// maxRequestHead bounds the request line and headers a server reads.
const maxRequestHead = 16 << 10

// Answer is what a Handler returns; Serve adds Content-Length and
// Connection: close.
type Answer struct {
	Status      int
	ContentType string
	Body        []byte
}

// Handler answers a GET or HEAD of path (the query string removed).
type Handler func(path string) Answer

// Serve answers GET and HEAD requests on ln, one per connection, until ctx
// ends; then it stops accepting and waits for the exchanges in progress
// (each bounded by connTimeout).
func Serve(ctx context.Context, ln net.Listener, h Handler, log *slog.Logger) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close()
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors and the like: wait and retry, as
			// net/http does, rather than leave the sidecar without /health.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			log.Warn("status server: accept failed; retrying", "error", err.Error(), "in", backoff.String())
			select {
			case <-time.After(backoff):
				continue
			case <-ctx.Done():
				return nil
			}
		}
		backoff = 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := exchange(conn, h); err != nil {
				log.Debug("status request", "remote", conn.RemoteAddr().String(), "error", err.Error())
			}
		}()
	}
}

func exchange(conn net.Conn, h Handler) error {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(connTimeout))
	method, path, err := readRequest(bufio.NewReader(io.LimitReader(conn, maxRequestHead)))
	var a Answer
	switch {
	case err != nil:
		a = textAnswer(400, "bad request: "+err.Error())
	case method != "GET" && method != "HEAD":
		a = textAnswer(405, "method "+method+" not allowed: GET or HEAD")
	default:
		a = h(path)
	}
	return writeAnswer(conn, a, method == "HEAD")
}

// readRequest reads "GET /path?q HTTP/1.1" and the headers, which it does
// not need: every answer closes the connection and no request has a body.
func readRequest(br *bufio.Reader) (method, path string, err error) {
	tp := textproto.NewReader(br)
	line, err := tp.ReadLine()
	if err != nil {
		return "", "", err
	}
	parts := strings.Split(line, " ")
	if len(parts) != 3 || !strings.HasPrefix(parts[2], "HTTP/1.") || !strings.HasPrefix(parts[1], "/") {
		return "", "", fmt.Errorf("malformed request line %q", line)
	}
	if _, err := tp.ReadMIMEHeader(); err != nil {
		return "", "", fmt.Errorf("headers: %w", err)
	}
	path, _, _ = strings.Cut(parts[1], "?")
	return parts[0], path, nil
}

func textAnswer(status int, msg string) Answer {
	return Answer{Status: status, ContentType: "text/plain; charset=utf-8", Body: []byte(msg + "\n")}
}

// NotFound is the answer for a path a Handler does not serve.
func NotFound(path string) Answer { return textAnswer(404, "no such path: "+path) }

func writeAnswer(w io.Writer, a Answer, head bool) error {
	hdr := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n",
		a.Status, StatusText(a.Status), a.ContentType, len(a.Body))
	if a.Status == 405 {
		hdr += "Allow: GET, HEAD\r\n"
	}
	body := a.Body
	if head {
		body = nil
	}
	_, err := w.Write(append([]byte(hdr+"\r\n"), body...))
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
