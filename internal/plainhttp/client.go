// Package plainhttp is HTTP/1.1 over plain TCP, one request per connection,
// without net/http. The sidecar uses it for its few calls (a health GET, the
// registry's POST/DELETE, its own status server): net/http links
// crypto/tls and x509, which more than double the binary, and a binary's
// pages are most of a small process's RSS (issue #4's 8 MB budget;
// docs/bench-sidecar.md). No TLS, no proxies, no keep-alive, no redirects.
package plainhttp

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxBody bounds how much of a response body Do keeps.
const DefaultMaxBody = 64 << 10

// Request is one call. Header values are sent as given; Host,
// Content-Length and Connection are set by Do.
type Request struct {
	Method string
	URL    *url.URL
	Header map[string]string
	Body   []byte
}

// Response is a status and at most Client.MaxBody bytes of the body.
// BodyErr says why the body may be incomplete; the status stands anyway.
type Response struct {
	Status  int
	Header  textproto.MIMEHeader
	Body    []byte
	BodyErr error
}

// Client sends Requests. Zero value: no timeout of its own (the context's
// deadline still applies), DefaultMaxBody, and the body is read.
type Client struct {
	Timeout time.Duration
	MaxBody int
	// SkipBody returns once the status line and headers are in, for callers
	// that only want the status (health probes).
	SkipBody bool
}

// ParseURL accepts only absolute http URLs with a host: the one scheme Do
// speaks.
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("%q must be an absolute http:// URL with a host (https is not supported)", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%q has credentials, which are not sent: use a bearer token instead", u.Redacted())
	}
	return u, nil
}

// Do dials, writes the request with Connection: close, and reads the
// answer. Every step is bounded by ctx and Client.Timeout.
func (c Client) Do(ctx context.Context, r Request) (Response, error) {
	if err := r.check(); err != nil {
		return Response{}, err
	}
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", hostPort(r.URL))
	if err != nil {
		return Response{}, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// A cancelled context unblocks a read or write in progress.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write(encodeRequest(r)); err != nil {
		return Response{}, ctxErr(ctx, err)
	}
	// 1 kB, not bufio's 4 kB: status lines and headers are short, and the
	// sidecar allocates this per call (its RSS is the budget).
	resp, err := c.read(bufio.NewReaderSize(conn, 1<<10), r.Method)
	return resp, ctxErr(ctx, err)
}

// check refuses what would not survive the trip as one well-formed
// request: header injection through a value with a line break included.
func (r Request) check() error {
	if r.URL == nil || r.URL.Scheme != "http" || r.URL.Host == "" {
		return errors.New("plainhttp: request URL must be an http URL with a host (http://host:port/path)")
	}
	if r.Method == "" || strings.Trim(r.Method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return fmt.Errorf("plainhttp: method %q must be upper-case letters", r.Method)
	}
	for k, v := range r.Header {
		if strings.ContainsAny(k+v, "\r\n") || strings.ContainsAny(k, " :") {
			return fmt.Errorf("plainhttp: header %q: no line breaks, and no space or colon in the name", k)
		}
	}
	return nil
}

// ctxErr names the context's end rather than the deadline it caused. The
// connection's deadline is the context's, so a read can time out a moment
// before the context's own timer marks it done.
func ctxErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	var ne net.Error
	if dl, ok := ctx.Deadline(); ok && errors.As(err, &ne) && ne.Timeout() && !time.Now().Before(dl) {
		return fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
	}
	return err
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

func encodeRequest(r Request) []byte {
	var b bytes.Buffer
	b.Grow(256 + len(r.Body))
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", r.Method, r.URL.RequestURI(), r.URL.Host)
	for k, v := range r.Header {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	if r.Body != nil || r.Method == "POST" || r.Method == "PUT" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(r.Body))
	}
	b.WriteString("\r\n")
	b.Write(r.Body)
	return b.Bytes()
}

func (c Client) read(br *bufio.Reader, method string) (Response, error) {
	tp := textproto.NewReader(br)
	for {
		status, err := readStatus(tp)
		if err != nil {
			return Response{}, err
		}
		hdr, err := tp.ReadMIMEHeader()
		if err != nil {
			return Response{}, fmt.Errorf("response headers: %w", err)
		}
		if status >= 100 && status < 200 {
			continue // 100 Continue and friends come before the real answer
		}
		resp := Response{Status: status, Header: hdr}
		if c.SkipBody || method == "HEAD" || status == 204 || status == 304 {
			return resp, nil
		}
		// The status is the answer: a body cut short (the server closed
		// early, the deadline hit) leaves what arrived, not an error that
		// would hide a 404 or a 200.
		resp.Body, resp.BodyErr = readBody(br, hdr, cmp.Or(c.MaxBody, DefaultMaxBody))
		return resp, nil
	}
}

// readStatus parses "HTTP/1.1 200 OK".
func readStatus(tp *textproto.Reader) (int, error) {
	line, err := tp.ReadLine()
	if err != nil {
		return 0, fmt.Errorf("status line: %w", err)
	}
	proto, rest, _ := strings.Cut(line, " ")
	code, _, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if !strings.HasPrefix(proto, "HTTP/1.") || err != nil || status < 100 || status > 999 {
		return 0, fmt.Errorf("malformed status line %q", line)
	}
	return status, nil
}

// readBody reads at most limit bytes of a chunked, sized or
// close-delimited body; the connection is not reused, so the rest is left.
func readBody(br *bufio.Reader, hdr textproto.MIMEHeader, limit int) ([]byte, error) {
	if strings.Contains(strings.ToLower(hdr.Get("Transfer-Encoding")), "chunked") {
		return readChunked(br, limit)
	}
	if cl := hdr.Get("Content-Length"); cl != "" {
		size, err := strconv.ParseUint(cl, 10, 63) // digits only: no sign
		if err != nil {
			return nil, fmt.Errorf("malformed Content-Length %q", cl)
		}
		body := make([]byte, min(size, uint64(limit)))
		n, err := io.ReadFull(br, body)
		if err != nil {
			return body[:n], fmt.Errorf("response body: %w", err)
		}
		return body, nil
	}
	return io.ReadAll(io.LimitReader(br, int64(limit)))
}

// readChunked decodes Transfer-Encoding: chunked (RFC 9112 §7.1) up to
// limit bytes; the connection is not reused, so the rest is left unread
// (a streaming answer would otherwise hold the call until its deadline).
func readChunked(br *bufio.Reader, limit int) ([]byte, error) {
	tp := textproto.NewReader(br)
	var body []byte
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return body, fmt.Errorf("chunk size: %w", err)
		}
		sizeHex, _, _ := strings.Cut(line, ";") // chunk extensions are ignored
		size, err := strconv.ParseInt(strings.TrimSpace(sizeHex), 16, 64)
		if err != nil || size < 0 {
			return body, fmt.Errorf("malformed chunk size %q", line)
		}
		if size == 0 {
			_, err := tp.ReadMIMEHeader() // trailers, up to the final empty line
			return body, err
		}
		keep := min(size, int64(limit-len(body)))
		chunk := make([]byte, keep)
		n, err := io.ReadFull(br, chunk)
		body = append(body, chunk[:n]...)
		if err != nil {
			return body, fmt.Errorf("chunk: %w", err)
		}
		if len(body) >= limit {
			return body, nil
		}
		if end, err := tp.ReadLine(); err != nil || end != "" {
			return body, fmt.Errorf("chunk not followed by CRLF")
		}
	}
}
