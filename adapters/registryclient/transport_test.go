package registryclient_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/ginapi"
	"github.com/vertice/vertice/adapters/memstore"
	"github.com/vertice/vertice/adapters/registryclient"
	"github.com/vertice/vertice/domain/registry"
	"github.com/vertice/vertice/internal/testkit/testcert"
	"github.com/vertice/vertice/ports"
)

// Calls reuse one connection: no new TCP (and TLS) handshake per beat, even
// when the registry's answer echoes a registration with large metadata.
func TestCallsReuseOneConnection(t *testing.T) {
	clock := ports.SystemClock{}
	svc := registry.New(memstore.New(clock), nil, clock, time.Minute)
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(ginapi.New(ginapi.Options{Registry: svc}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := newClient(t, srv.URL, "")
	big := reg
	big.Metadata = map[string]string{}
	// Near the registry's 4096-byte metadata bound: the answer is over the
	// 4 kB a write's answer was once read up to.
	for i := range 4 {
		big.Metadata[fmt.Sprintf("k%d", i)] = strings.Repeat("v", 1000)
	}
	if err := c.Register(context.Background(), big); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := c.Heartbeat(context.Background(), "osint_service", "osint-1"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Lookup(context.Background(), "osint_service"); err != nil {
		t.Fatal(err)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("7 calls opened %d connections, want 1 kept alive", n)
	}
}

// tlsServer serves h over https with a certificate for 127.0.0.1 signed by
// a CA of the test's own; it returns the server and the CA's file.
func tlsServer(t *testing.T, h http.Handler) (*httptest.Server, string) {
	t.Helper()
	ca := testcert.NewCA(t, "vertice test CA")
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "127.0.0.1", "localhost").TLS(t)}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point of some tests
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, testcert.WriteFile(t, t.TempDir(), "ca.pem", ca.PEM)
}

func TestHTTPSWithAPrivateCA(t *testing.T) {
	plain, _ := newRegistry(t, "")
	srv, ca := tlsServer(t, plain.Config.Handler)
	conf, err := registryclient.TLSConfig(ca, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := registryclient.New(srv.URL, registryclient.Options{TLS: conf, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Register(context.Background(), reg); err != nil {
		t.Fatalf("Register over https: %v", err)
	}
	if snap, err := c.Lookup(context.Background(), "osint_service"); err != nil || snap.Instances[0].Endpoint != reg.Endpoint {
		t.Fatalf("Lookup over https: %+v %v", snap, err)
	}
	// The certificate names localhost too: TLS_SERVER_NAME checks that name.
	conf, _ = registryclient.TLSConfig(ca, "localhost")
	c, _ = registryclient.New(srv.URL, registryclient.Options{TLS: conf, Timeout: 2 * time.Second})
	if err := c.Heartbeat(context.Background(), "osint_service", "osint-1"); err != nil {
		t.Fatalf("Heartbeat with a server name: %v", err)
	}
	conf, _ = registryclient.TLSConfig(ca, "registry.example")
	c, _ = registryclient.New(srv.URL, registryclient.Options{TLS: conf, Timeout: 2 * time.Second})
	if err := c.Heartbeat(context.Background(), "osint_service", "osint-1"); err == nil ||
		!strings.Contains(err.Error(), "registry.example") {
		t.Fatalf("a server name the certificate lacks must fail naming it, got %v", err)
	}
}

// A certificate the client does not trust is a configuration mistake for
// the writer (logged loudly, retried) and an unavailable registry for the
// reader (breaker, fallback); both say what is wrong.
func TestUntrustedCertificateSaysSo(t *testing.T) {
	srv, _ := tlsServer(t, http.NotFoundHandler())
	other := testcert.WriteFile(t, t.TempDir(), "other.pem", testcert.NewCA(t, "another CA").PEM)
	conf, err := registryclient.TLSConfig(other, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]registryclient.Options{
		"private CA": {TLS: conf, Timeout: 2 * time.Second},
		"system":     {Timeout: 2 * time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := registryclient.New(srv.URL, o)
			err := c.Register(context.Background(), reg)
			if !errors.Is(err, ports.ErrRejected) || !strings.Contains(err.Error(), "unknown authority") {
				t.Fatalf("Register: want ErrRejected about the certificate, got %v", err)
			}
			if _, err := c.Lookup(context.Background(), "osint_service"); !errors.Is(err, ports.ErrUnavailable) ||
				!strings.Contains(err.Error(), "certificate") {
				t.Fatalf("Lookup: want ErrUnavailable about the certificate, got %v", err)
			}
		})
	}
}

func TestTLSConfigRefusesAMissingOrEmptyCAFile(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.pem")
	_ = os.WriteFile(empty, []byte("not a certificate"), 0o600)
	for _, f := range []string{filepath.Join(t.TempDir(), "missing.pem"), empty} {
		if _, err := registryclient.TLSConfig(f, ""); err == nil {
			t.Errorf("TLSConfig(%s) accepted", f)
		}
	}
}

// rawServer answers every connection with script, then keeps writing
// filler until the client goes away: a peer that never stops talking.
func rawServer(t *testing.T, script, filler string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_, _ = bufio.NewReader(conn).ReadString('\n') // the request line is enough
				_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.WriteString(conn, script); err != nil {
					return
				}
				chunk := []byte(strings.Repeat(filler, max(1, 4096/len(filler))))
				for {
					if _, err := conn.Write(chunk); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// Every read of the registry's bytes is bounded: an endless status line,
// header line, body or chunk-size line ends the call with an error after a
// bounded read (net/http's own header limit is 10 MB; ours is 64 kB, and
// bodies stop at MaxAnswerBytes), well before the timeout.
func TestEndlessAnswersAreCutOff(t *testing.T) {
	cases := map[string]struct{ script, filler string }{
		"header line":     {"HTTP/1.1 200 OK\r\nX-Endless: ", "a"},
		"status line":     {"HTTP/1.1 200 ", "OK"},
		"sized body":      {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n[", `"a",`},
		"chunked body":    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "1000\r\n" + strings.Repeat("a", 0x1000) + "\r\n"},
		"chunk-size line": {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "f"},
		"close-delimited": {"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n", "x"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			url := rawServer(t, tc.script, tc.filler)
			c, _ := registryclient.New(url, registryclient.Options{Timeout: 10 * time.Second})
			start := time.Now()
			if alloc, err := allocated(func() error {
				_, err := c.Lookup(context.Background(), "osint_service")
				return err
			}); err == nil || alloc > 8<<20 {
				t.Errorf("Lookup: error %v after allocating %d bytes; want an error within 8 MiB", err, alloc)
			}
			if alloc, err := allocated(func() error {
				return c.Heartbeat(context.Background(), "osint_service", "osint-1")
			}); alloc > 1<<20 || err == nil && !strings.HasPrefix(tc.script, "HTTP/1.1 200 OK\r\n") {
				t.Errorf("Heartbeat: error %v after allocating %d bytes; want at most 1 MiB", err, alloc)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Fatalf("took %v: the reads were not cut off by a size limit", took)
			}
		})
	}
}

// allocated runs f and returns how many bytes the process allocated
// meanwhile (the server's writes allocate nothing).
func allocated(f func() error) (uint64, error) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, err
}

func TestAnswerOverTheCapIsUnavailableAndSaysSo(t *testing.T) {
	big := `{"service_name":"s","endpoint":"http://h:1","metadata":{"k":"` + strings.Repeat("x", registryclient.MaxAnswerBytes) + `"}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, big) }))
	defer srv.Close()
	_, err := newClient(t, srv.URL, "").Lookup(context.Background(), "s")
	if !errors.Is(err, ports.ErrUnavailable) || !errors.Is(err, registryclient.ErrAnswerTooLarge) {
		t.Fatalf("want ErrUnavailable and ErrAnswerTooLarge, got %v", err)
	}
}
