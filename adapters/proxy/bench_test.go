package proxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/vertice/vertice/adapters/proxy"
)

// BenchmarkProxy measures one small GET through the proxy over loopback,
// client and upstream included: compare with BenchmarkDirect.
func BenchmarkProxy(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("hello, world\n"))
	}))
	defer up.Close()
	gw := newGatewayB(b, staticDirectory{"bench_service": {up.URL}})
	benchGet(b, gw.URL+"/v2/bench_service/")
}

// BenchmarkDirect is the same GET without the proxy.
func BenchmarkDirect(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("hello, world\n"))
	}))
	defer up.Close()
	benchGet(b, up.URL+"/")
}

func benchGet(b *testing.B, url string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

func newGatewayB(b *testing.B, dir staticDirectory) *httptest.Server {
	return newGatewayTB(b, dir, proxy.Options{})
}
