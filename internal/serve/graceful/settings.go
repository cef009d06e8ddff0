package graceful

import (
	"errors"
	"fmt"
	"time"

	"github.com/vertice/vertice/internal/envconf"
)

// Defaults for Settings' zero values.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
)

// Settings bound what one client may cost a server. Zero values mean the
// defaults above; negative values are errors.
type Settings struct {
	// ReadHeaderTimeout bounds reading a request's line and headers
	// (HTTP_READ_HEADER_TIMEOUT).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a request's body, from the end of its
	// headers to the end of the body (HTTP_READ_TIMEOUT): a client that
	// trickles a body is cut when it runs out, the handler's read fails.
	// It does not limit how long a handler may then run.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response, from the end of the request's
	// headers (HTTP_WRITE_TIMEOUT; net/http's Server.WriteTimeout). A
	// handler that streams or holds a request open longer (a long poll)
	// extends its own deadline with http.ResponseController's
	// SetWriteDeadline; the gateway's proxy does so before every write, so
	// for proxied responses it bounds each write, not the whole response.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for its
	// next request (HTTP_IDLE_TIMEOUT).
	IdleTimeout time.Duration
	// MaxHeaderBytes caps a request's line and headers
	// (HTTP_MAX_HEADER_BYTES); larger requests are answered 431.
	MaxHeaderBytes int
	// ShutdownGrace bounds the drain after the context ends
	// (HTTP_SHUTDOWN_GRACE, default ShutdownGrace).
	ShutdownGrace time.Duration
}

// Load reads the HTTP_* settings every server shares, recording bad values
// on r under their variable's name.
func Load(r *envconf.Reader) Settings {
	return Settings{
		ReadHeaderTimeout: r.Duration("HTTP_READ_HEADER_TIMEOUT", DefaultReadHeaderTimeout),
		ReadTimeout:       r.Duration("HTTP_READ_TIMEOUT", DefaultReadTimeout),
		WriteTimeout:      r.Duration("HTTP_WRITE_TIMEOUT", DefaultWriteTimeout),
		IdleTimeout:       r.Duration("HTTP_IDLE_TIMEOUT", DefaultIdleTimeout),
		MaxHeaderBytes:    r.Int("HTTP_MAX_HEADER_BYTES", DefaultMaxHeaderBytes, 4<<10, 1<<20),
		ShutdownGrace:     r.Duration("HTTP_SHUTDOWN_GRACE", ShutdownGrace),
	}
}

// Validate names the fields that cannot be used.
func (s Settings) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"ReadHeaderTimeout", s.ReadHeaderTimeout}, {"ReadTimeout", s.ReadTimeout},
		{"WriteTimeout", s.WriteTimeout}, {"IdleTimeout", s.IdleTimeout}, {"ShutdownGrace", s.ShutdownGrace},
	} {
		if f.d < 0 {
			errs = append(errs, fmt.Errorf("graceful: Settings.%s must not be negative (got %s)", f.name, f.d))
		}
	}
	if s.MaxHeaderBytes < 0 {
		errs = append(errs, errors.New("graceful: Settings.MaxHeaderBytes must not be negative"))
	}
	return errors.Join(errs...)
}

func (s Settings) withDefaults() Settings {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&s.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&s.ReadTimeout, DefaultReadTimeout)
	def(&s.WriteTimeout, DefaultWriteTimeout)
	def(&s.IdleTimeout, DefaultIdleTimeout)
	def(&s.ShutdownGrace, ShutdownGrace)
	if s.MaxHeaderBytes == 0 {
		s.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return s
}
