package graceful

import (
	"net"
	"net/http"
	"sort"
	"sync"
)

// tracker knows which connections are open and in what state, so that a
// shutdown that has to cut some can say whose they were.
type tracker struct {
	mu    sync.Mutex
	conns map[net.Conn]http.ConnState
}

func newTracker() *tracker { return &tracker{conns: map[net.Conn]http.ConnState{}} }

func (t *tracker) track(c net.Conn, st http.ConnState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch st {
	case http.StateClosed, http.StateHijacked:
		delete(t.conns, c)
	default:
		t.conns[c] = st
	}
}

// open lists the open connections as "address (state)", sorted.
func (t *tracker) open() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.conns))
	for c, st := range t.conns {
		out = append(out, c.RemoteAddr().String()+" ("+st.String()+")")
	}
	sort.Strings(out)
	return out
}
