package proc

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStopTermsThenKills(t *testing.T) {
	// sh ignores TERM here, so only the KILL after the grace ends it.
	p, err := Start("stubborn", exec.Command("sh", "-c", `trap "" TERM; echo ready; while :; do sleep 0.05; done`), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Until(5*time.Second, func() error {
		if !strings.Contains(p.Output(), "ready") {
			return errors.New("not ready")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = p.Stop(300 * time.Millisecond)
	if took := time.Since(start); took < 300*time.Millisecond || took > 5*time.Second {
		t.Fatalf("stopped after %s, want the 300 ms grace then a kill", took)
	}
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("exit %v, want killed", err)
	}
}

func TestStopEndsAPoliteProcessWithTERM(t *testing.T) {
	p, err := Start("polite", exec.Command("sleep", "30"), "")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = p.Stop(10 * time.Second)
	if time.Since(start) > 5*time.Second || err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Fatalf("after %s: %v, want ended by SIGTERM at once", time.Since(start), err)
	}
}

func TestUntilGivesUpWhenTheProcessExits(t *testing.T) {
	log := filepath.Join(t.TempDir(), "crash.log")
	p, err := Start("crash", exec.Command("sh", "-c", "echo bad config >&2; exit 3"), log)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = p.Until(time.Minute, func() error { return errors.New("not listening") })
	if err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("after %s: %v", time.Since(start), err)
	}
	for _, want := range []string{"crash exited (exit status 3)", "not listening", "bad config"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if b, _ := os.ReadFile(log); string(b) != "bad config\n" {
		t.Errorf("log file holds %q", b)
	}
}

func TestTailKeepsTheEnd(t *testing.T) {
	var tl Tail
	tl.Write([]byte(strings.Repeat("a", keep)))
	tl.Write([]byte("end"))
	if s := tl.String(); len(s) != keep || !strings.HasSuffix(s, "aend") {
		t.Fatalf("kept %d bytes ending %q", len(s), s[len(s)-4:])
	}
}
