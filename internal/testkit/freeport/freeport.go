// Package freeport finds loopback ports for programs that take their listen
// address from a flag or the environment (a server the test starts itself
// listens on 127.0.0.1:0 instead). The port was free a moment ago; another
// process could take it before the program binds it, and the program then
// fails to start, loudly rather than flakily.
package freeport

import (
	"net"
	"testing"
)

// Addr is a 127.0.0.1:port address whose port was free a moment ago.
func Addr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Port is the port of Addr.
func Port() (int, error) {
	addr, err := Addr()
	if err != nil {
		return 0, err
	}
	ap, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return 0, err
	}
	return ap.Port, nil
}

// MustAddr is Addr for tests: an error fails tb.
func MustAddr(tb testing.TB) string {
	tb.Helper()
	addr, err := Addr()
	if err != nil {
		tb.Fatalf("free port: %v", err)
	}
	return addr
}

// MustPort is Port for tests: an error fails tb.
func MustPort(tb testing.TB) int {
	tb.Helper()
	port, err := Port()
	if err != nil {
		tb.Fatalf("free port: %v", err)
	}
	return port
}
