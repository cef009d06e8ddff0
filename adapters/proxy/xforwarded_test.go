package proxy

import (
	"crypto/tls"
	"net/http"
	"net/http/httputil"
	"reflect"
	"testing"
)

// TestSetXForwardedMatchesHTTPUtil: the hand-written setXForwarded leaves
// exactly the headers httputil's SetXForwarded leaves (after the copy of
// the client's X-Forwarded-For that trust asks for), in every case.
func TestSetXForwardedMatchesHTTPUtil(t *testing.T) {
	cases := []struct {
		name   string
		remote string
		host   string
		tls    bool
		xff    []string
		trust  bool
	}{
		{"plain", "127.0.0.1:5000", "gw:8000", false, nil, false},
		{"spoofed, not trusted", "10.0.0.2:1", "gw", false, []string{"6.6.6.6"}, false},
		{"trusted chain", "10.0.0.2:1", "gw", false, []string{"1.1.1.1, 2.2.2.2", "3.3.3.3"}, true},
		{"trusted, none sent", "[::1]:443", "", true, nil, true},
		{"tls", "10.0.0.2:1", "gw", true, nil, false},
		{"remote addr without port", "10.0.0.2", "gw", false, []string{"6.6.6.6"}, true},
		{"empty remote addr", "", "gw", false, nil, false},
	}
	for _, tc := range cases {
		in, _ := http.NewRequest(http.MethodGet, "http://gw/v2/s/x", nil)
		in.RemoteAddr, in.Host = tc.remote, tc.host
		if tc.tls {
			in.TLS = &tls.ConnectionState{}
		}
		if tc.xff != nil {
			in.Header["X-Forwarded-For"] = tc.xff
		}
		in.Header.Set("X-Other", "kept")
		// ReverseProxy strips the forwarding headers before Rewrite.
		out := func() *http.Request {
			o := in.Clone(in.Context())
			for _, k := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
				o.Header.Del(k)
			}
			return o
		}
		want := &httputil.ProxyRequest{In: in, Out: out()}
		if tc.trust {
			want.Out.Header["X-Forwarded-For"] = in.Header["X-Forwarded-For"]
		}
		want.SetXForwarded()
		got := &httputil.ProxyRequest{In: in, Out: out()}
		setXForwarded(got, tc.trust)
		if !reflect.DeepEqual(got.Out.Header, want.Out.Header) {
			t.Errorf("%s: headers\n%v\nwant\n%v", tc.name, got.Out.Header, want.Out.Header)
		}
		if !reflect.DeepEqual(in.Header["X-Forwarded-For"], tc.xff) {
			t.Errorf("%s: the inbound X-Forwarded-For changed to %v", tc.name, in.Header["X-Forwarded-For"])
		}
	}
}
