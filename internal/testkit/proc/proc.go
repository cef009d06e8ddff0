// Package proc runs the programs that tests and benchmarks start as real
// processes: it keeps the tail of their output for failure messages (and
// writes all of it to a log file when asked), knows when they exit, and
// stops them the way an orchestrator does: SIGTERM, then SIGKILL after a
// grace period.
package proc

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/testkit/poll"
)

// Grace is how long Stop waits after SIGTERM before SIGKILL in StartT's
// cleanup: our programs drain for up to 10 s.
const Grace = 15 * time.Second

// keep is how much of the output a Process holds in memory.
const keep = 64 << 10

// Process is a started program.
type Process struct {
	Name string
	Cmd  *exec.Cmd
	out  *Tail
	ctx  context.Context // ended when the process has exited
	err  error           // Wait's answer, valid once ctx has ended
}

// Start starts cmd, as the caller prepared it (path, arguments,
// environment, folder), with its stdout and stderr captured: the last
// 64 KiB in memory and, when logFile is not empty, all of it in that file.
func Start(name string, cmd *exec.Cmd, logFile string) (*Process, error) {
	p := &Process{Name: name, Cmd: cmd, out: &Tail{}}
	var w io.Writer = p.out
	var f *os.File
	if logFile != "" {
		var err error
		if f, err = os.Create(logFile); err != nil {
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
		w = io.MultiWriter(f, p.out)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		if f != nil {
			f.Close()
		}
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	ctx, exited := context.WithCancel(context.Background())
	p.ctx = ctx
	go func() {
		p.err = cmd.Wait()
		if f != nil {
			f.Close()
		}
		exited()
	}()
	return p, nil
}

// StartT is Start for tests: a failure to start fails tb, and the process
// is stopped when the test ends, its output logged if the test failed.
func StartT(tb testing.TB, name string, cmd *exec.Cmd) *Process {
	tb.Helper()
	p, err := Start(name, cmd, "")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		p.Stop(Grace)
		if tb.Failed() {
			tb.Logf("--- %s output ---\n%s", name, p.Output())
		}
	})
	return p
}

// Pid is the process id.
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.ctx.Done() }

// Err is the process's exit error (nil for exit status 0), once Exited is
// closed.
func (p *Process) Err() error {
	<-p.ctx.Done()
	return p.err
}

// Output is the end of what the process wrote so far.
func (p *Process) Output() string { return p.out.String() }

// Stop sends SIGTERM, then SIGKILL when the process has not exited within
// grace, and returns its exit error. Stopping an exited process only
// returns that.
func (p *Process) Stop(grace time.Duration) error {
	select {
	case <-p.ctx.Done():
		return p.err
	default:
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.ctx.Done():
	case <-timer.C:
		_ = p.Cmd.Process.Kill()
		<-p.ctx.Done()
	}
	return p.err
}

// Until polls check (poll.Until) and gives up early when the process
// exits; the error then says so, and any error carries the output's end.
func (p *Process) Until(within time.Duration, check func() error) error {
	err := poll.Until(p.ctx, within, check)
	if err == nil {
		return nil
	}
	if p.ctx.Err() != nil {
		return fmt.Errorf("%s exited (%v): %w\n%s", p.Name, p.err, err, p.Output())
	}
	return fmt.Errorf("%s: %w\n%s", p.Name, err, p.Output())
}

// Eventually is Until for tests: it fails tb with what and the error.
func (p *Process) Eventually(tb testing.TB, within time.Duration, what string, check func() error) {
	tb.Helper()
	if err := p.Until(within, check); err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

// Tail is a writer, safe for concurrent use, that keeps the last 64 KiB
// written: a process's output for failure messages.
type Tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *Tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > keep {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-keep:]...)
	}
	return len(b), nil
}

func (t *Tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
