// Package loadgen drives an HTTP/1.1 server with a fixed number of
// keep-alive connections, each sending one request at a time, and reports
// throughput and latency percentiles. It writes requests as prepared bytes
// and parses answers with net/http's reader, so its own cost per request is
// small next to the server's (it shares the machine with what it measures).
// Runs are bounded by a request count and a duration, whichever ends first.
package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Request is one HTTP request to send.
type Request struct {
	Method string
	Path   string
	Body   []byte // sent with Content-Type: application/json when not nil
}

// Config says what to send and for how long. Zero values: Concurrency 1;
// Requests 0 means no count limit; Duration is required (a run must end).
type Config struct {
	// Addr is host:port of the server; Host header too.
	Addr string
	// Concurrency is the number of connections, each one request at a time.
	Concurrency int
	// Requests bounds the total count (0: none but Duration).
	Requests int
	// Duration bounds the run's length; it must be positive.
	Duration time.Duration
	// Next returns the i-th request of the run (i counts across workers);
	// it must be safe for concurrent use.
	Next func(i int) Request
	// OK says whether a status counts as success; nil means 2xx.
	OK func(status int) bool
	// DialTimeout and IOTimeout bound each dial and each exchange; zero
	// means 5 s.
	DialTimeout, IOTimeout time.Duration
}

// Validate names the field that is wrong.
func (c Config) Validate() error {
	switch {
	case c.Addr == "":
		return errors.New("loadgen: Addr is required")
	case c.Duration <= 0:
		return errors.New("loadgen: Duration must be positive")
	case c.Next == nil:
		return errors.New("loadgen: Next is required")
	case c.Concurrency < 0 || c.Requests < 0:
		return errors.New("loadgen: Concurrency and Requests must not be negative")
	}
	return nil
}

// Result summarizes a run. Latencies are of successful requests only.
type Result struct {
	Requests int // answered, any status
	Errors   int // not OK statuses plus transport failures
	Statuses map[int]int
	Elapsed  time.Duration
	RPS      float64 // answered requests per second
	P50, P90 time.Duration
	P99, Max time.Duration
	// FirstError describes one failure, for the report.
	FirstError string
}

func (r Result) String() string {
	return fmt.Sprintf("%d requests in %s: %.0f req/s, p50 %s, p90 %s, p99 %s, max %s, errors %d",
		r.Requests, r.Elapsed.Round(time.Millisecond), r.RPS, r.P50, r.P90, r.P99, r.Max, r.Errors)
}

// Run sends requests until the count, the duration or ctx ends.
func Run(ctx context.Context, c Config) (Result, error) {
	if err := c.Validate(); err != nil {
		return Result{}, err
	}
	if c.Concurrency == 0 {
		c.Concurrency = 1
	}
	if c.OK == nil {
		c.OK = func(s int) bool { return s >= 200 && s < 300 }
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.IOTimeout == 0 {
		c.IOTimeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, c.Duration)
	defer cancel()
	var next atomic.Int64
	workers := make([]*worker, c.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range workers {
		w := &worker{cfg: &c, statuses: map[int]int{}}
		if c.Requests > 0 {
			w.lat = make([]time.Duration, 0, c.Requests/c.Concurrency+1)
		}
		workers[i] = w
		wg.Go(func() { w.run(ctx, &next) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	return merge(workers, elapsed), nil
}

type worker struct {
	cfg      *Config
	conn     net.Conn
	br       *bufio.Reader
	buf      []byte
	lat      []time.Duration
	statuses map[int]int
	answered int
	errors   int
	firstErr string
}

func (w *worker) run(ctx context.Context, next *atomic.Int64) {
	defer w.close()
	for ctx.Err() == nil {
		i := int(next.Add(1) - 1)
		if w.cfg.Requests > 0 && i >= w.cfg.Requests {
			return
		}
		start := time.Now()
		status, err := w.exchange(w.cfg.Next(i))
		took := time.Since(start)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return // cut by the deadline: not the server's failure
			}
			w.fail(err.Error())
			w.close()
		case w.cfg.OK(status):
			w.answered++
			w.statuses[status]++
			w.lat = append(w.lat, took)
		default:
			w.answered++
			w.statuses[status]++
			w.fail("status " + strconv.Itoa(status))
		}
	}
}

func (w *worker) fail(msg string) {
	w.errors++
	if w.firstErr == "" {
		w.firstErr = msg
	}
}

func (w *worker) close() {
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
}

// exchange sends one request on the worker's connection, dialing it first
// if needed, and reads the whole answer.
func (w *worker) exchange(r Request) (int, error) {
	if w.conn == nil {
		conn, err := net.DialTimeout("tcp", w.cfg.Addr, w.cfg.DialTimeout)
		if err != nil {
			return 0, err
		}
		w.conn = conn
		w.br = bufio.NewReaderSize(conn, 16<<10)
	}
	w.buf = appendRequest(w.buf[:0], w.cfg.Addr, r)
	if err := w.conn.SetDeadline(time.Now().Add(w.cfg.IOTimeout)); err != nil {
		return 0, err
	}
	if _, err := w.conn.Write(w.buf); err != nil {
		return 0, err
	}
	if status, ok, err := w.readSimple(); ok || err != nil {
		return status, err
	}
	resp, err := http.ReadResponse(w.br, nil)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	if resp.Close {
		w.close()
	}
	return resp.StatusCode, nil
}

// readSimple reads the common answer without net/http's parser, which
// costs this process (sharing the machine with the server) more than the
// server spends on some requests: a status line and headers with a
// Content-Length, no Transfer-Encoding and no "Connection: close", all
// already in the read buffer. ok is false, with nothing consumed, for any
// other answer; http.ReadResponse then reads it.
func (w *worker) readSimple() (status int, ok bool, err error) {
	if _, err := w.br.Peek(1); err != nil {
		return 0, false, err
	}
	head, _ := w.br.Peek(w.br.Buffered())
	end := bytes.Index(head, []byte("\r\n\r\n"))
	if end < 0 || len(head) < 12 || !bytes.HasPrefix(head, []byte("HTTP/1.1 ")) || head[12] != ' ' && head[12] != '\r' {
		return 0, false, nil
	}
	status, err = strconv.Atoi(string(head[9:12]))
	if err != nil || status < 100 {
		return 0, false, nil
	}
	length := -1
	for _, line := range bytes.Split(head[:end], []byte("\r\n"))[1:] {
		name, value, found := bytes.Cut(line, []byte(":"))
		if !found {
			return 0, false, nil
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			if length >= 0 {
				return 0, false, nil
			}
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, false, nil
			}
		case asciiEqualFold(name, "Transfer-Encoding"), asciiEqualFold(name, "Connection"):
			return 0, false, nil
		}
	}
	if length < 0 || status == http.StatusNoContent || status == http.StatusNotModified || status < 200 {
		return 0, false, nil
	}
	if _, err := w.br.Discard(end + 4); err != nil {
		return 0, false, err
	}
	if _, err := w.br.Discard(length); err != nil {
		return 0, true, err
	}
	return status, true, nil
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func appendRequest(b []byte, host string, r Request) []byte {
	b = append(b, r.Method...)
	b = append(b, ' ')
	b = append(b, r.Path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\nUser-Agent: vertice-loadgen\r\n"...)
	if r.Body != nil {
		b = append(b, "Content-Type: application/json\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(r.Body)), 10)
		b = append(b, "\r\n\r\n"...)
		return append(b, r.Body...)
	}
	return append(b, "\r\n"...)
}

func merge(workers []*worker, elapsed time.Duration) Result {
	res := Result{Statuses: map[int]int{}, Elapsed: elapsed}
	var lat []time.Duration
	for _, w := range workers {
		res.Requests += w.answered
		res.Errors += w.errors
		for s, n := range w.statuses {
			res.Statuses[s] += n
		}
		if res.FirstError == "" {
			res.FirstError = w.firstErr
		}
		lat = append(lat, w.lat...)
	}
	if elapsed > 0 {
		res.RPS = float64(res.Requests) / elapsed.Seconds()
	}
	slices.Sort(lat)
	res.P50, res.P90, res.P99 = Percentile(lat, 50), Percentile(lat, 90), Percentile(lat, 99)
	if len(lat) > 0 {
		res.Max = lat[len(lat)-1]
	}
	return res
}

// Percentile returns the p-th percentile (nearest rank) of sorted
// durations, or 0 when there are none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}
