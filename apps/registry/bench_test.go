package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/bench/wrk"
	"github.com/vertice/vertice/internal/envconf"
	"github.com/vertice/vertice/internal/testkit/freeport"
	"github.com/vertice/vertice/internal/testkit/proc"
)

// The benchmarks below drive the wired registry (gin, metrics, breaker and
// cache, redisstore) through a real HTTP server on loopback, on a local
// redis-server process (skipped when there is none on PATH), with wrk's 50
// keep-alive connections (internal/bench/wrk; an op is one request). They
// are for CPU profiles (-cpuprofile) of the whole request path, wrk not in
// them: ns/op is the machine's throughput for everything on it (wrk and
// Redis included), so compare runs on one quiet machine only.
// BENCH_REDIS_QUERY is appended to REDIS_URL (e.g. "?pool_size=50") for
// experiments.

func benchRedis(b *testing.B) string {
	b.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		b.Skip("redis-server not on PATH")
	}
	port := freeport.MustPort(b)
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--protected-mode", "no", "--dir", b.TempDir())
	p := proc.StartT(b, "redis-server", cmd)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p.Eventually(b, 10*time.Second, "redis-server on "+addr, func() error {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	})
	return addr
}

func benchRegistry(b *testing.B, env map[string]string) string {
	b.Helper()
	redisAddr := benchRedis(b)
	vars := map[string]string{"REGISTRY_ADDR": "127.0.0.1:0", "REDIS_URL": "redis://" + redisAddr + os.Getenv("BENCH_REDIS_QUERY"),
		"REGISTRY_TTL": "600s"}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := LoadConfig(envconf.Map(vars))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.DiscardHandler), ready) }()
	b.Cleanup(func() { cancel(); <-done })
	select {
	case addr := <-ready:
		return addr.String()
	case err := <-done:
		b.Fatal(err)
	}
	return ""
}

func benchRegister(b *testing.B, addr string, service, id int) {
	b.Helper()
	resp, err := http.Post("http://"+addr+"/register", "application/json", strings.NewReader(string(registerBody(service, id))))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		b.Fatalf("register: %s", resp.Status)
	}
}

func registerBody(service, id int) []byte {
	return fmt.Appendf(nil, `{"service_name":"svc_%d","instance_id":"i%d","endpoint":"http://h%d:8080","metadata":{"version":"1.0.0"}}`,
		service, id, id)
}

func drive(b *testing.B, addr string, reqs []wrk.Request) {
	b.Helper()
	wrk.Bench(b, wrk.Options{Bin: wrk.Need(b), URL: "http://" + addr + "/", Connections: 50, Requests: reqs})
}

func BenchmarkRedisLookup(b *testing.B) {
	addr := benchRegistry(b, nil)
	reqs := make([]wrk.Request, 100)
	for i := range reqs {
		benchRegister(b, addr, i, i)
		reqs[i] = wrk.Request{Method: "GET", Path: fmt.Sprintf("/services/svc_%d", i)}
	}
	drive(b, addr, reqs)
}

func BenchmarkRedisRegister(b *testing.B) {
	addr := benchRegistry(b, nil)
	reqs := make([]wrk.Request, 1000)
	for i := range reqs {
		reqs[i] = wrk.Request{Method: "POST", Path: "/register", Body: registerBody(i%100, i)}
	}
	drive(b, addr, reqs)
}

func BenchmarkRedisHeartbeat(b *testing.B) {
	addr := benchRegistry(b, nil)
	reqs := make([]wrk.Request, 100)
	for i := range reqs {
		benchRegister(b, addr, i, i)
		reqs[i] = wrk.Request{Method: "POST", Path: "/heartbeat",
			Body: fmt.Appendf(nil, `{"service_name":"svc_%d","instance_id":"i%d"}`, i, i)}
	}
	drive(b, addr, reqs)
}
