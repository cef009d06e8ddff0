package hostinfo_test

import (
	"net"
	"testing"

	"github.com/vertice/vertice/internal/hostinfo"
)

func TestFreeAddrCanBeListenedOn(t *testing.T) {
	addr, err := hostinfo.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("FreeAddr gave %s, which is not free: %v", addr, err)
	}
	ln.Close()
	if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
		t.Fatalf("FreeAddr gave %s, want a 127.0.0.1 address", addr)
	}
}
