package proxy

import (
	"net/http"
	"strings"

	"github.com/vertice/vertice/domain/routing"
)

// split takes the service name and the rest of the path from r. The
// service segment must arrive exactly as the name is spelled: an escape in
// it (svc%2Fadmin, or even nmap%5Fservice) is errBadPath, a 404, so that
// what routing saw and what the upstream sees cannot differ. A rest with a
// "." or ".." segment, even escaped (%2e%2e) or hidden in an escaped slash
// (a%2F..%2Fb), is errDotSegment, a 400: the upstream would resolve it
// above the endpoint's base path.
func (p *Proxy) split(r *http.Request, c *call) (service string, err error) {
	path, found := strings.CutPrefix(r.URL.Path, p.prefix)
	if !found || path == "" {
		return "", errBadPath
	}
	service, c.rest = path, "/"
	if i := strings.IndexByte(path, '/'); i >= 0 {
		service, c.rest = path[:i], path[i:]
	}
	if service == "" {
		return "", errBadPath
	}
	c.name = service
	if r.URL.RawPath != "" {
		// Keep the client's escapes in the rest (%2F stays %2F).
		raw, ok := strings.CutPrefix(r.URL.RawPath, p.prefix)
		if !ok || !strings.HasPrefix(raw, service) || (len(raw) > len(service) && raw[len(service)] != '/') {
			return "", errBadPath
		}
		c.rawRest = "/"
		if len(raw) > len(service) {
			c.rawRest = raw[len(service):]
		}
	}
	if hasDotSegment(c.rest) {
		return "", errDotSegment
	}
	return service, nil
}

// hasDotSegment reports whether a decoded path has a "." or ".." segment,
// counting backslashes as separators and ignoring ";parameters" (some
// servers do both: Tomcat reads "..;x" as "..").
func hasDotSegment(path string) bool {
	if !strings.Contains(path, ".") {
		return false
	}
	for seg := range strings.FieldsFuncSeq(path, func(r rune) bool { return r == '/' || r == '\\' }) {
		if seg, _, _ = strings.Cut(seg, ";"); seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// target points out at t, keeping the path after the service and the
// query string. The Host header becomes the instance's, as with SetURL;
// X-Forwarded-Host keeps the client's.
func target(out *http.Request, t *routing.Target, c *call) {
	base := t.URL
	out.URL.Scheme, out.URL.Host, out.Host = base.Scheme, base.Host, ""
	out.URL.Path = joinPath(base.Path, c.rest)
	out.URL.RawPath = ""
	if c.rawRest != "" {
		out.URL.RawPath = joinPath(base.EscapedPath(), c.rawRest)
	}
}

func joinPath(base, rest string) string {
	if base == "" || base == "/" {
		return rest
	}
	return strings.TrimSuffix(base, "/") + rest
}
