package proxy

import (
	"net/http/httputil"
	"strings"
)

// setVia appends this gateway's entry to the Via header the request
// carries (RFC 9110 §7.6.3), so that a request which comes back to any
// replica of the gateway (an endpoint pointing at the gateway itself) can
// be counted and stopped.
func (p *Proxy) setVia(pr *httputil.ProxyRequest) {
	i := 1
	if pr.In.ProtoMajor == 1 && pr.In.ProtoMinor == 0 {
		i = 0
	}
	h := pr.Out.Header
	prior := h["Via"]
	if len(prior) == 0 {
		// The usual case costs no allocation: a shared one-entry slice,
		// full to capacity, so any later append copies it.
		h["Via"] = p.viaEntry[i : i+1 : i+1]
		return
	}
	h["Via"] = append(prior[:len(prior):len(prior)], p.viaEntry[i])
}

// hops counts the Via entries received by pseudonym: "1.1 name" or
// "HTTP/1.1 name (comment)", several per header line, comma separated.
func hops(vias []string, pseudonym string) int {
	n := 0
	for _, line := range vias {
		for entry := range strings.SplitSeq(line, ",") {
			fields := strings.Fields(entry)
			if len(fields) >= 2 && fields[1] == pseudonym {
				n++
			}
		}
	}
	return n
}
