// Package graceful runs a net/http server until its context ends, then
// drains in-flight requests, and bounds what one client may cost: how long
// it may take to send headers and a body, how large its headers may be, and
// how long one write to it may block.
package graceful

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ShutdownGrace bounds how long in-flight requests may finish after SIGTERM.
const ShutdownGrace = 10 * time.Second

// Run serves h on ln with the default Settings until ctx ends, then drains
// in-flight requests.
func Run(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	return Serve(ctx, ln, h, log, Settings{})
}

// Serve serves h on ln until ctx ends, then drains in-flight requests for
// s.ShutdownGrace. Connections still busy after that are closed (and
// logged), and Serve returns nil: a client that never finishes must not turn
// a clean SIGTERM into a failed exit.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, s Settings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	s = s.withDefaults()
	srv, conns := newServer(h, s)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", s.ShutdownGrace.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Shutdown fails only when the grace period ran out; what is left
		// is cut, and that is the end of a graceful stop, not an error.
		cut := conns.open()
		_ = srv.Close()
		log.Warn("drain deadline passed; closed connections still open", "grace", s.ShutdownGrace.String(),
			"connections", len(cut), "clients", cut)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// NewServer returns the http.Server Serve runs: s's timeouts and header
// limit, and h behind the body read deadline. Tests that need the real
// limits on an httptest.Server set its Config to this.
func NewServer(h http.Handler, s Settings) *http.Server {
	srv, _ := newServer(h, s.withDefaults())
	return srv
}

func newServer(h http.Handler, s Settings) (*http.Server, *tracker) {
	conns := newTracker()
	return &http.Server{
		Handler:           bodyDeadline(h, s.ReadTimeout),
		ReadHeaderTimeout: s.ReadHeaderTimeout,
		// ReadTimeout stays zero on purpose: net/http keeps that deadline on
		// the connection after the body is read, and its background read
		// then cancels the request's context, cutting any handler that runs
		// longer (long polls, proxied downloads). bodyDeadline bounds the
		// body instead and lifts the deadline once the body has ended.
		WriteTimeout:   s.WriteTimeout,
		IdleTimeout:    s.IdleTimeout,
		MaxHeaderBytes: s.MaxHeaderBytes,
		ConnState:      conns.track,
	}, conns
}
