package promstats_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vertice/vertice/adapters/promstats"
)

// BenchmarkMiddleware measures the metrics middleware around an empty
// handler: what every registry operation pays for its two metrics.
func BenchmarkMiddleware(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	stats, err := promstats.NewRegistry(prometheus.NewRegistry(), func(context.Context) (int, error) { return 0, nil })
	if err != nil {
		b.Fatal(err)
	}
	r := gin.New()
	r.Use(stats.Middleware(func(method, route string) string { return "lookup" }))
	r.GET("/services/:name", func(c *gin.Context) { c.Status(http.StatusOK) })
	req := httptest.NewRequest("GET", "/services/svc", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		r.ServeHTTP(w, req)
	}
}
