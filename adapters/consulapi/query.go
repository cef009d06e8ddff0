package consulapi

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vertice/vertice/domain/registry"
)

// Blocking queries as Consul parses them: ?index=N waits while the index
// is N; ?wait= is a Go duration (Consul's clients send "5000ms"), none or
// not positive means DefaultWait, more than MaxWait is cut to it, and up
// to 1/16 of it is added at random so that many watchers' timeouts do not
// fire together.
const (
	DefaultWait = 5 * time.Minute
	MaxWait     = 10 * time.Minute
)

// query is what a read asks besides its path.
type query struct {
	index    uint64
	wait     time.Duration
	tags     []string
	passing  bool
	filter   *filter
	nodeMeta bool // node-meta asked for: no Vértice node has metadata
}

// parseQuery reads the parameters every read shares, and refuses those
// that would narrow the answer in a way Vértice cannot honour (another
// datacenter, namespace, partition or peer; hash-based blocking):
// answering as if they were absent would widen the answer.
func (a *api) parseQuery(c *gin.Context) (query, error) {
	q := query{wait: DefaultWait}
	if err := a.checkScope(c); err != nil {
		return q, err
	}
	_, stale := c.GetQuery("stale")
	_, consistent := c.GetQuery("consistent")
	if stale && consistent {
		return q, badRequest{"stale and consistent: cannot be asked together, conflicting semantics"}
	}
	if _, ok := c.GetQuery("hash"); ok {
		return q, badRequest{"hash: hash-based blocking is not supported; block with index (X-Consul-Index)"}
	}
	if v, ok := c.GetQuery("index"); ok {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return q, badRequest{"index: " + strconv.Quote(v) + " must be a whole number ≥ 0 (an X-Consul-Index from an earlier answer)"}
		}
		q.index = n
	}
	if v, ok := c.GetQuery("wait"); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			return q, badRequest{"wait: " + strconv.Quote(v) + " must be a duration such as 30s, 500ms or 5m"}
		}
		if d > 0 {
			q.wait = min(d, MaxWait)
		}
	}
	q.tags = c.QueryArray("tag")
	if v, ok := c.GetQuery("passing"); ok {
		b, err := parseBool(v)
		if err != nil {
			return q, badRequest{"passing: " + strconv.Quote(v) + " must be true or false (or empty, which is true)"}
		}
		q.passing = b
	}
	if expr := c.Query("filter"); expr != "" {
		f, err := parseFilter(expr)
		if err != nil {
			return q, err
		}
		q.filter = f
	}
	if meta := c.QueryArray("node-meta"); len(meta) > 0 {
		for _, kv := range meta {
			if k, _, ok := strings.Cut(kv, ":"); !ok || k == "" {
				return q, badRequest{"node-meta: " + strconv.Quote(kv) + " must be key:value"}
			}
		}
		q.nodeMeta = true
	}
	return q, nil
}

// checkScope refuses a datacenter, namespace, admin partition, sameness
// group or peer other than this registry's: it has one of each.
func (a *api) checkScope(c *gin.Context) error {
	if dc := c.Query("dc"); dc != "" && dc != a.Datacenter {
		return badRequest{"dc: " + strconv.Quote(dc) + " is not this registry's datacenter (" + a.Datacenter + "); Vértice serves one"}
	}
	for _, p := range []string{"ns", "namespace", "partition", "ap"} {
		if v := c.Query(p); v != "" && v != "default" {
			return badRequest{p + ": " + strconv.Quote(v) + " is not supported; Vértice has only the default namespace and partition"}
		}
	}
	for _, p := range []string{"peer", "sameness-group", "sg"} {
		if v := c.Query(p); v != "" {
			return badRequest{p + ": " + strconv.Quote(v) + " is not supported; Vértice has no cluster peering"}
		}
	}
	return nil
}

// parseBool reads a flag as Consul does: present without a value is true.
func parseBool(v string) (bool, error) {
	if v == "" {
		return true, nil
	}
	return strconv.ParseBool(v)
}

// block is the registry's Block for q: it ends at the wait (plus jitter)
// or when the API's context ends (the server stops), whichever is first.
// The answer's write deadline moves past the wait.
func (a *api) block(c *gin.Context, q query) (registry.Block, context.CancelFunc) {
	if q.index == 0 {
		return registry.Block{}, func() {}
	}
	wait := q.wait + rand.N(q.wait/16+1)
	// Only a server with a write timeout has a deadline to move; an
	// httptest recorder, say, has none, and that is not an error.
	_ = http.NewResponseController(c.Writer).SetWriteDeadline(time.Now().Add(wait + a.WriteTimeout))
	ctx, cancel := context.WithTimeout(a.Context, wait)
	return registry.Block{Index: q.index, Until: ctx.Done()}, cancel
}

// Headers every read answers with. The index is Vértice's (never below 1,
// never backwards, shared by every replica); there is no leader to lose.
const (
	IndexHeader       = "X-Consul-Index"
	KnownLeaderHeader = "X-Consul-KnownLeader"
	LastContactHeader = "X-Consul-LastContact"
)

func setMeta(c *gin.Context, index uint64) {
	h := c.Writer.Header()
	h.Set(IndexHeader, strconv.FormatUint(max(index, 1), 10))
	h.Set(KnownLeaderHeader, "true")
	h.Set(LastContactHeader, "0")
	h.Set("X-Consul-Query-Backend", "blocking-query")
}
