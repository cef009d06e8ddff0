package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func do(t *testing.T, h http.Handler, method, target string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	var body map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	return rec.Code, body
}

func TestHealthCanBeSwitchedOffAndOn(t *testing.T) {
	h := newHandler("demo-a", "127.0.0.1:8080", slog.New(slog.DiscardHandler))
	if code, body := do(t, h, "GET", "/health"); code != 200 || body["status"] != "healthy" {
		t.Fatalf("fresh: %d %v", code, body)
	}
	do(t, h, "POST", "/admin/health?status=unhealthy")
	if code, body := do(t, h, "GET", "/health"); code != 503 || body["status"] != "unhealthy" {
		t.Fatalf("after switch off: %d %v", code, body)
	}
	do(t, h, "POST", "/admin/health?status=healthy")
	if code, _ := do(t, h, "GET", "/health"); code != 200 {
		t.Fatalf("after switch on: %d", code)
	}
	if code, _ := do(t, h, "POST", "/admin/health?status=maybe"); code != 400 {
		t.Fatalf("bad status accepted: %d", code)
	}
	if code, _ := do(t, h, "GET", "/admin/health?status=unhealthy"); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET must not switch health: %d", code)
	}
}

func TestRootAndEchoSayWhichInstanceAnswered(t *testing.T) {
	h := newHandler("demo-a", "127.0.0.1:8080", slog.New(slog.DiscardHandler))
	if code, body := do(t, h, "GET", "/"); code != 200 || body["instance"] != "demo-a@127.0.0.1:8080" || body["message"] == nil {
		t.Fatalf("GET /: %d %v", code, body)
	}
	code, body := do(t, h, "PUT", "/echo/a/b?x=1&y=2")
	if code != 200 || body["path"] != "/echo/a/b" || body["query"] != "x=1&y=2" || body["method"] != "PUT" {
		t.Fatalf("echo: %d %v", code, body)
	}
	if code, _ := do(t, h, "GET", "/nope"); code != 404 {
		t.Fatalf("unknown path: %d", code)
	}
}
