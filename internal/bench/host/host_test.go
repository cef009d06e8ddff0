package host

import (
	"os"
	"testing"
	"time"
)

func TestParseProcessCPU(t *testing.T) {
	// The command name may hold spaces and parentheses; utime and stime are
	// fields 14 and 15.
	stat := "4242 (redis (a b)) S 1 4242 4242 0 -1 4194560 120 0 0 0 250 50 0 0 20 0 4 0 5 0 0\n"
	if got := parseProcessCPU(stat); got != 3*time.Second {
		t.Fatalf("got %v, want 3s", got)
	}
	if got := parseProcessCPU("garbage"); got != 0 {
		t.Fatalf("got %v for garbage", got)
	}
	for deadline := time.Now().Add(100 * time.Millisecond); time.Now().Before(deadline); {
	}
	if ProcessCPU(os.Getpid()) <= 0 {
		t.Fatal("no CPU time for this process after a busy loop")
	}
}

func TestParseStatBusy(t *testing.T) {
	if got := parseStatBusy("cpu  64663 7 33971 194650 664 1 4058 2 5 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n"); got != (64663+7+33971+1+4058+2)*10*time.Millisecond {
		t.Fatalf("busy %v", got)
	}
	if got := parseStatBusy("intr 1 2 3\n"); got != 0 {
		t.Fatalf("busy %v for a file without a cpu line", got)
	}
}

func TestProcessMemory(t *testing.T) {
	m, err := ProcessMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS <= 0 || m.HWM < m.RSS || m.Anon+m.File > m.RSS+4 {
		t.Fatalf("this process: %+v", m)
	}
}
