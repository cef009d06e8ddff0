package cluster

import (
	"fmt"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/vertice/vertice/internal/testkit/images"
)

// Toxiproxy is a Toxiproxy server on the cluster's network, driven from
// the test through its mapped API port.
type Toxiproxy struct {
	*Node
	Client *toxiclient.Client
}

// Toxiproxy starts the server as ToxiproxyAlias. Other containers reach a
// proxy at ToxiproxyAlias:<listen port>.
func (c *Cluster) Toxiproxy() *Toxiproxy {
	c.t.Helper()
	n := c.run(c.image("toxiproxy"), []string{ToxiproxyAlias}, images.ToxiproxyAPIPort, "/version", false, nil)
	return &Toxiproxy{Node: n, Client: toxiclient.NewClient(n.URL())}
}

// Proxy creates a proxy listening on port inside the network (reached as
// ToxiproxyAlias:port) forwarding to upstream (alias:port). Upstream is
// resolved per connection, so a restarted upstream is found again.
func (x *Toxiproxy) Proxy(name string, port int, upstream string) *Proxy {
	x.t.Helper()
	p, err := x.Client.CreateProxy(name, fmt.Sprintf("0.0.0.0:%d", port), upstream)
	if err != nil {
		x.t.Fatalf("toxiproxy: create %s: %v", name, err)
	}
	return &Proxy{t: x.Node.t, Proxy: p, Addr: fmt.Sprintf("%s:%d", ToxiproxyAlias, port)}
}

// Proxy is one proxy with helpers for the faults the suites inject.
type Proxy struct {
	t interface {
		Helper()
		Fatalf(string, ...any)
	}
	*toxiclient.Proxy
	// Addr is host:port for the containers on the network.
	Addr string
}

// Silence makes the link a black hole both ways: bytes are swallowed and
// nothing is answered (a timeout toxic with timeout 0), on open and new
// connections alike. It is a partition, not a refusal: clients wait for
// their own timeouts.
func (p *Proxy) Silence() {
	p.t.Helper()
	for _, stream := range []string{"upstream", "downstream"} {
		p.toxic("silence_"+stream, "timeout", stream, toxiclient.Attributes{"timeout": 0})
	}
}

// Latency delays every byte going back to the client by ms.
func (p *Proxy) Latency(ms int) {
	p.t.Helper()
	p.toxic("latency", "latency", "downstream", toxiclient.Attributes{"latency": ms})
}

// ResetPeer resets connections (TCP RST, after afterMs once Redis or the
// server first answers on them; the answer is dropped) on the given share
// of connections (0 < toxicity ≤ 1, drawn per connection).
func (p *Proxy) ResetPeer(afterMs int, toxicity float32) {
	p.t.Helper()
	p.toxicSome("reset_peer", "reset_peer", "downstream", toxicity, toxiclient.Attributes{"timeout": afterMs})
}

// Heal removes every toxic.
func (p *Proxy) Heal() {
	p.t.Helper()
	toxics, err := p.Toxics()
	if err != nil {
		p.t.Fatalf("toxiproxy %s: list toxics: %v", p.Name, err)
	}
	for _, tx := range toxics {
		if err := p.RemoveToxic(tx.Name); err != nil {
			p.t.Fatalf("toxiproxy %s: remove %s: %v", p.Name, tx.Name, err)
		}
	}
}

// toxic applies to every connection (toxicity 1.0; 0 would mean none).
func (p *Proxy) toxic(name, kind, stream string, attrs toxiclient.Attributes) {
	p.t.Helper()
	p.toxicSome(name, kind, stream, 1.0, attrs)
}

func (p *Proxy) toxicSome(name, kind, stream string, toxicity float32, attrs toxiclient.Attributes) {
	p.t.Helper()
	if _, err := p.AddToxic(name, kind, stream, toxicity, attrs); err != nil {
		p.t.Fatalf("toxiproxy %s: add %s: %v", p.Name, kind, err)
	}
}
