package proxy

import (
	"bufio"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/vertice/vertice/domain/routing"
)

// FuzzRewritePath sends any request target a client could put on a request
// line through split and target, against any endpoint base path the
// gateway accepts, and checks what the upstream would receive: a valid
// request-URI, under the endpoint's base path even after the upstream
// resolves dot segments, with the client's escapes kept.
//
//	go test -fuzz FuzzRewritePath ./adapters/proxy/
func FuzzRewritePath(f *testing.F) {
	for _, seed := range [][2]string{
		{"/v2/nmap_service/scan?x=1", "/"},
		{"/v2/nmap_service/scan/a%2Fb", "/api/"},
		{"/v2/svc%2Fadmin", "/api"},
		{"/v2/svc/../../etc/passwd", "/api"},
		{"/v2/svc/%2e%2e/%2E%2e/etc", "/api/v1"},
		{"/v2/svc/a%2F..%2F..%2Fb", "/api"},
		{"/v2/svc/a\\..\\..\\b", "/api"},
		{"/v2/svc/%5c..%5c..%5cb", "/api"},
		{"/v2/nmap%5Fservice/x", ""},
		{"/v2/svc", "/api%20x/"},
		{"/v2//x", "/"},
		{"/v%32/svc/x", "/"},
		{"/v2/svc/;/..;/x", "/a"},
		{"/v2/svc/%00", "/"},
		{"*", "/"},
		{"http://evil/v2/svc/x", "/api"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, target, basePath string) {
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + target + " HTTP/1.1\r\nHost: gw\r\n\r\n")))
		if err != nil {
			return // net/http's server would have refused it
		}
		base, err := url.Parse("http://upstream:8080" + basePath)
		if err != nil || base.Host != "upstream:8080" || base.RawQuery != "" || base.Fragment != "" ||
			hasDotSegment(base.Path) || (base.Path != "" && !strings.HasPrefix(base.Path, "/")) {
			return // not an endpoint the registry or a fallback would hold
		}
		p := &Proxy{prefix: DefaultPrefix}
		c := &call{}
		service, err := p.split(req, c)
		if err != nil {
			return
		}
		if service == "" || strings.ContainsAny(service, "/%") {
			t.Fatalf("split(%q) took service %q", target, service)
		}
		out := &http.Request{URL: &url.URL{}, Header: http.Header{}}
		routeTo(out, base, c)

		// What goes on the wire, and how the upstream reads it back.
		uri := out.URL.RequestURI()
		if strings.ContainsAny(uri, " \t\r\n\x00") {
			t.Fatalf("%q -> request-URI %q is not a valid request line", target, uri)
		}
		got, err := url.ParseRequestURI(uri)
		if err != nil {
			t.Fatalf("%q -> request-URI %q does not parse: %v", target, uri, err)
		}
		if got.Path != out.URL.Path {
			t.Fatalf("%q -> upstream reads path %q, gateway meant %q", target, got.Path, out.URL.Path)
		}
		root := strings.TrimSuffix(base.Path, "/") + "/"
		if !strings.HasPrefix(got.Path, root) && got.Path+"/" != root {
			t.Fatalf("%q -> %q is not under the base path %q", target, got.Path, root)
		}
		for _, sep := range []string{"/", "\\"} { // resolved as the upstream might
			resolve := func(p string) string { return path.Clean("/" + strings.ReplaceAll(p, sep, "/")) }
			clean, cleanRoot := resolve(got.Path), strings.TrimSuffix(resolve(base.Path), "/")+"/"
			if !strings.HasPrefix(clean+"/", cleanRoot) {
				t.Fatalf("%q -> %q climbs out of %q once dot segments are resolved (%q)", target, got.Path, cleanRoot, clean)
			}
		}
	})
}

// routeTo runs target against a one-instance route at base.
func routeTo(out *http.Request, base *url.URL, c *call) {
	target(out, &routing.Target{Service: "svc", InstanceID: "i", URL: base}, c)
}

// FuzzJoinPath: the rest is kept whole, after the base without its
// trailing slash.
func FuzzJoinPath(f *testing.F) {
	f.Add("/api/", "/x")
	f.Add("", "/")
	f.Add("/", "/a//b")
	f.Fuzz(func(t *testing.T, base, rest string) {
		if !strings.HasPrefix(rest, "/") {
			return // split always yields a rest starting with /
		}
		want := strings.TrimSuffix(base, "/") + rest
		if base == "" || base == "/" {
			want = rest
		}
		if got := joinPath(base, rest); got != want {
			t.Fatalf("joinPath(%q, %q) = %q, want %q", base, rest, got, want)
		}
	})
}
