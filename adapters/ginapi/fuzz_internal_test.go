package ginapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// FuzzParseBlock holds ?index= and ?wait= parsing to its rules for any
// query: no panic; a refusal is a badRequest naming the parameter; an
// accepted wait is positive and at most MaxWait (DefaultWait when absent);
// an accepted index is the number given. The seed corpus runs with every
// `go test`.
func FuzzParseBlock(f *testing.F) {
	for _, q := range []string{"", "index=5", "index=5&wait=30s", "index=0&wait=500ms", "wait=15", "wait=0",
		"wait=-1s", "wait=999999h", "wait=4294967296", "index=-1", "index=18446744073709551616", "index=1e3",
		"index=%20", "wait=1s&wait=2s", "index=1&index=2", "wait=1.5", "wait=9223372036s", "wait=%00"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = &http.Request{Method: "GET", URL: &url.URL{Path: "/services", RawQuery: rawQuery}}
		p, err := parseBlock(c)
		q := c.Request.URL.Query()
		if err != nil {
			var bad badRequest
			if !errors.As(err, &bad) || !(strings.HasPrefix(bad.msg, "index: ") || strings.HasPrefix(bad.msg, "wait: ")) {
				t.Fatalf("query %q: error %v does not name the parameter", rawQuery, err)
			}
			return
		}
		if p.wait <= 0 || p.wait > MaxWait {
			t.Fatalf("query %q: wait %s", rawQuery, p.wait)
		}
		if _, ok := q["wait"]; !ok && p.wait != DefaultWait {
			t.Fatalf("query %q: no wait given, got %s", rawQuery, p.wait)
		}
		if v, ok := q["index"]; ok {
			if n, err := strconv.ParseUint(v[0], 10, 64); err != nil || n != p.index {
				t.Fatalf("query %q: index %d from %q", rawQuery, p.index, v[0])
			}
		} else if p.index != 0 {
			t.Fatalf("query %q: index %d without one given", rawQuery, p.index)
		}
	})
}
