package proxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"time"
)

// clientWriter moves the client connection's write deadline forward before
// every write, so the server's WriteTimeout bounds each write rather than
// the whole response: a long download or event stream that keeps moving
// goes on, a client that stops reading is cut, and with it the upstream.
type clientWriter struct {
	http.ResponseWriter
	rc      http.ResponseController
	timeout time.Duration
}

func (w *clientWriter) extend() {
	if w.timeout > 0 {
		_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	}
}

func (w *clientWriter) WriteHeader(code int) {
	w.extend() // 1xx answers are written at once
	w.ResponseWriter.WriteHeader(code)
}

func (w *clientWriter) Write(b []byte) (int, error) {
	w.extend()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController (ReverseProxy's flushes, hijacking
// for upgrades) reach the server's writer.
func (w *clientWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// upstreamBody keeps the error that ended reading an upstream's body, so a
// cut response can be blamed on the right side.
type upstreamBody struct {
	io.ReadCloser
	err error
}

func (b *upstreamBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// idleDialer wraps d's connections in idleConn when idle is positive.
func idleDialer(d *net.Dialer, idle time.Duration) func(context.Context, string, string) (net.Conn, error) {
	if idle <= 0 {
		return d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &idleConn{Conn: conn, idle: idle}, nil
	}
}

// idleConn fails a read or write that makes no progress for idle: an
// upstream that sends its headers and then stalls would otherwise hold the
// client's connection and its own forever (the transport bounds only the
// wait for headers). A write also moves the read deadline, because the
// transport keeps one read pending on a pooled connection; without that,
// a request sent on a connection that sat idle would inherit a deadline
// that started when the connection went idle. An idle pooled connection is
// thus closed after idle at the latest.
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *idleConn) Write(p []byte) (int, error) {
	deadline := time.Now().Add(c.idle)
	if err := c.Conn.SetWriteDeadline(deadline); err != nil {
		return 0, err
	}
	_ = c.Conn.SetReadDeadline(deadline)
	return c.Conn.Write(p)
}
