package redisstore

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Concurrent script calls share round trips. Each system call on loopback
// costs about as much as the registry's own work on a request, and a
// command alone costs a health-check peek, a write and a read or two on
// each side; a pipeline of n commands costs the same calls once. So at
// most maxInFlight calls (or batches) are on the wire at a time; calls
// that arrive meanwhile queue, and the queue goes out as one pipeline as
// soon as a slot frees. A lone call goes out at once, as before, so
// batching only happens when calls already wait on each other.
//
// Every call is still sent after it was made and answered before it
// returns: a queued call joins only a pipeline that has not been sent, so
// a read still sees every write that finished before it began. A caller
// waits at most until its own context ends (the store's timeout); a
// batch's Redis calls are bounded by the store's timeout from when they
// are sent. Only single-server clients batch (see Store.oneServer).

// maxInFlight bounds the calls or pipelines on the wire at once: one
// crosses the network while the next one fills.
const maxInFlight = 2

// maxBatch bounds one pipeline.
const maxBatch = 256

type scriptCall struct {
	ctx    context.Context
	script *redis.Script
	keys   []string
	args   []any
	cmd    *redis.Cmd
	done   chan struct{}
}

type batcher struct {
	client  redis.UniversalClient
	timeout time.Duration

	mu       sync.Mutex
	inFlight int
	queue    []*scriptCall
}

// run sends script with keys and args, batched with concurrent calls. The
// answer is that of script.Run, or the context's error if ctx ends first.
func (b *batcher) run(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	c := &scriptCall{ctx: ctx, script: script, keys: keys, args: args}
	b.mu.Lock()
	if b.inFlight < maxInFlight {
		b.inFlight++
		b.mu.Unlock()
		c.cmd = script.Run(ctx, b.client, keys, args...)
		b.next()
		return c.cmd
	}
	c.done = make(chan struct{})
	b.queue = append(b.queue, c)
	b.mu.Unlock()
	select {
	case <-c.done:
		return c.cmd
	case <-ctx.Done():
		// The batch may still send it; its answer is dropped.
		cmd := redis.NewCmd(ctx)
		cmd.SetErr(ctx.Err())
		return cmd
	}
}

// next hands the freed slot to the queue, if calls wait there: they go
// out as one pipeline from another goroutine, so the caller that freed the
// slot returns at once.
func (b *batcher) next() {
	b.mu.Lock()
	if len(b.queue) == 0 {
		b.inFlight--
		b.mu.Unlock()
		return
	}
	batch := b.take()
	b.mu.Unlock()
	go b.drain(batch)
}

// take removes up to maxBatch calls from the queue; b.mu is held.
func (b *batcher) take() []*scriptCall {
	n := min(len(b.queue), maxBatch)
	batch := b.queue[:n:n]
	if n == len(b.queue) {
		b.queue = nil
	} else {
		b.queue = b.queue[n:]
	}
	return batch
}

// drain sends batches until the queue is empty, then frees its slot.
func (b *batcher) drain(batch []*scriptCall) {
	for {
		b.send(batch)
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.inFlight--
			b.mu.Unlock()
			return
		}
		batch = b.take()
		b.mu.Unlock()
	}
}

// send runs one batch and wakes its callers.
func (b *batcher) send(batch []*scriptCall) {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	if len(batch) == 1 {
		c := batch[0]
		c.cmd = c.script.Run(ctx, b.client, c.keys, c.args...)
		close(c.done)
		return
	}
	_, _ = b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range batch {
			c.cmd = c.script.EvalSha(ctx, p, c.keys, c.args...)
		}
		return nil
	})
	for _, c := range batch {
		if redis.HasErrorPrefix(c.cmd.Err(), "NOSCRIPT") {
			// First use on this server (or after SCRIPT FLUSH): Run
			// falls back to EVAL, which loads the script.
			c.cmd = c.script.Run(ctx, b.client, c.keys, c.args...)
		}
		close(c.done)
	}
}
