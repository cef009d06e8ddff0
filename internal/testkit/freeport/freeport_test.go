package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestAddrCanBeListenedOn(t *testing.T) {
	addr := MustAddr(t)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	ln.Close()
	port := MustPort(t)
	if port <= 0 {
		t.Fatalf("port %d", port)
	}
	ln, err = net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("listen on port %d: %v", port, err)
	}
	ln.Close()
}
