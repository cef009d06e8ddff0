package ginapi_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkLookup measures GET /services/{name} through the full handler
// (gin, metrics middleware, memory store), without the network.
func BenchmarkLookup(b *testing.B) {
	f := newFixture(b, "")
	for i := 0; i < 100; i++ {
		body := fmt.Sprintf(`{"service_name":"svc_%d","endpoint":"http://h%d:8080"}`, i, i)
		f.h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/register", strings.NewReader(body)))
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			rec := httptest.NewRecorder()
			f.h.ServeHTTP(rec, httptest.NewRequest("GET", fmt.Sprintf("/services/svc_%d", i%100), nil))
			if rec.Code != 200 {
				b.Fatalf("status %d", rec.Code)
			}
			i++
		}
	})
}

// BenchmarkRegister measures POST /register (decode, validate, store).
func BenchmarkRegister(b *testing.B) {
	f := newFixture(b, "")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			body := fmt.Sprintf(`{"service_name":"svc_%d","endpoint":"http://h%d:8080","metadata":{"version":"1.0.0"}}`, i%100, i%1000)
			rec := httptest.NewRecorder()
			f.h.ServeHTTP(rec, httptest.NewRequest("POST", "/register", strings.NewReader(body)))
			if rec.Code >= 300 {
				b.Fatalf("status %d", rec.Code)
			}
			i++
		}
	})
}
