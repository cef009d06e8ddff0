package ginapi

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vertice/vertice/adapters/registryapi"
	"github.com/vertice/vertice/domain/registry"
)

// Blocking reads, Consul's shape: every read answer carries its index in
// IndexHeader; a read with ?index=N waits while the index is N, up to
// ?wait= (DefaultWait, at most MaxWait), plus up to 1/16 of it as jitter
// so that many watchers' timeouts do not all fire together.
const (
	IndexHeader = registryapi.IndexHeader
	DefaultWait = 5 * time.Minute
	MaxWait     = 10 * time.Minute
)

// blockParams reads ?index and ?wait. A read without index does not wait.
type blockParams struct {
	index uint64
	wait  time.Duration
}

func parseBlock(c *gin.Context) (blockParams, error) {
	var p blockParams
	if v, ok := c.GetQuery("index"); ok {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return p, badRequest{"index: " + strconv.Quote(v) + " must be a whole number ≥ 0 (an X-Vertice-Index from an earlier answer)"}
		}
		p.index = n
	}
	p.wait = DefaultWait
	if v, ok := c.GetQuery("wait"); ok {
		d, err := parseWait(v)
		if err != nil {
			return p, badRequest{"wait: " + strconv.Quote(v) + " " + err.Error()}
		}
		p.wait = min(d, MaxWait)
	}
	return p, nil
}

// parseWait takes a Go duration ("30s", "500ms", "5m") or whole seconds.
func parseWait(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		secs, serr := strconv.ParseUint(v, 10, 32)
		if serr != nil {
			return 0, errors.New("must be a duration such as 30s, 500ms or 5m")
		}
		d = time.Duration(secs) * time.Second
	}
	if d <= 0 {
		return 0, errors.New("must be positive")
	}
	return d, nil
}

// block reads a request's ?index and ?wait into the registry's Block: it
// ends at the wait (plus jitter) or when the API's context ends (the
// server stops), whichever is first, and the answer's write deadline moves
// past the wait. Call the returned func when the read is done.
func (a *api) block(c *gin.Context) (registry.Block, context.CancelFunc, error) {
	p, err := parseBlock(c)
	if err != nil || p.index == 0 {
		return registry.Block{}, func() {}, err
	}
	wait := p.wait + rand.N(p.wait/16+1)
	// Only a server with a write timeout has a deadline to move; an
	// httptest recorder, say, has none, and that is not an error.
	_ = http.NewResponseController(c.Writer).SetWriteDeadline(time.Now().Add(wait + a.WriteTimeout))
	ctx, cancel := context.WithTimeout(a.Context, wait)
	return registry.Block{Index: p.index, Until: ctx.Done()}, cancel, nil
}

// setIndex writes the index header.
func setIndex(c *gin.Context, index uint64) { c.Header(IndexHeader, registryapi.FormatIndex(index)) }

// changes serves the change feed: GET /v1/catalog/indexes?index=N&wait=D
// with any number of service=NAME (none: every service).
func (a *api) changes(c *gin.Context) {
	b, done, err := a.block(c)
	if err != nil {
		fail(c, err)
		return
	}
	defer done()
	ch, err := a.Registry.Changes(c.Request.Context(), c.QueryArray("service"), b)
	if err != nil {
		fail(c, err)
		return
	}
	setIndex(c, ch.Index)
	c.JSON(http.StatusOK, registryapi.NewChanges(ch))
}
