// Package sidecar measures the sidecar's footprint: binary and FROM
// scratch image size, then RSS and CPU time of the process registering a
// demo service with a local registry at HEARTBEAT_INTERVAL=1. `go tool
// mage bench:sidecar` runs it and writes docs/bench-sidecar.md.
package sidecar

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vertice/vertice/internal/bench/host"
	"github.com/vertice/vertice/internal/testkit/freeport"
	"github.com/vertice/vertice/internal/testkit/poll"
	"github.com/vertice/vertice/internal/testkit/proc"
)

// Image is the tag the benchmark builds from deploy/sidecar.Dockerfile.
const Image = "vertice/sidecar:bench"

// Config says what to measure. main fills every field.
type Config struct {
	Bin        string        // folder with vertice-sidecar, vertice-registry and vertice-demo
	Dockerfile string        // deploy/sidecar.Dockerfile; its context is Bin
	Duration   time.Duration // how long the sidecar runs after its first registration
	Every      time.Duration // between samples
	WorkDir    string        // the programs' logs
}

// Sample is one reading of the sidecar process.
type Sample struct {
	At         time.Duration // since the first registration
	Mem        host.Memory
	CPU        time.Duration
	Heartbeats string // the status server's counter, "?" when unread
}

// Result is one run.
type Result struct {
	BinarySize int64 // bytes
	ImageSize  int64 // bytes; -1 without a Docker engine
	Samples    []Sample
	Registered bool // still registered at the end
}

// Run measures the sizes, starts registry, demo and sidecar on loopback,
// samples the sidecar until Duration has passed since it registered, and
// stops every process before it returns.
func Run(ctx context.Context, cfg Config) (Result, error) {
	var res Result
	fi, err := os.Stat(filepath.Join(cfg.Bin, "vertice-sidecar"))
	if err != nil {
		return res, err
	}
	res.BinarySize = fi.Size()
	if res.ImageSize, err = imageSize(ctx, cfg); err != nil {
		return res, err
	}
	var addrs [3]string
	for i := range addrs {
		if addrs[i], err = freeport.Addr(); err != nil {
			return res, err
		}
	}
	regAddr, demoAddr, statusAddr := addrs[0], addrs[1], addrs[2]
	var procs []*proc.Process
	defer func() {
		for _, p := range procs {
			p.Stop(10 * time.Second)
		}
	}()
	for _, s := range []struct {
		name, url string
		env       []string
	}{
		{"registry", "http://" + regAddr + "/health", []string{"REGISTRY_ADDR=" + regAddr, "REGISTRY_TTL=10"}},
		{"demo", "http://" + demoAddr + "/health", []string{"DEMO_ADDR=" + demoAddr, "DEMO_NAME=bench"}},
	} {
		p, err := start(cfg, s.name, s.env...)
		if err != nil {
			return res, err
		}
		procs = append(procs, p)
		if err := p.Until(10*time.Second, poll.Status(s.url, http.StatusOK)); err != nil {
			return res, err
		}
	}
	host, port, _ := net.SplitHostPort(demoAddr)
	sc, err := start(cfg, "sidecar", "SERVICE_NAME=bench_service", "SERVICE_HOST="+host, "SERVICE_PORT="+port,
		"REGISTRY_URL=http://"+regAddr, "HEARTBEAT_INTERVAL=1", "SIDECAR_ADDR="+statusAddr, "LOG_LEVEL=warn")
	if err != nil {
		return res, err
	}
	procs = append([]*proc.Process{sc}, procs...) // stopped first, so it can deregister
	// The clock starts at the first registration: the numbers are those of
	// a sidecar doing its steady job.
	lookup := poll.Status("http://"+regAddr+"/services/bench_service", http.StatusOK)
	if err := sc.Until(10*time.Second, lookup); err != nil {
		return res, fmt.Errorf("the sidecar did not register: %w", err)
	}
	begin := time.Now()
	for {
		s, err := read(sc.Pid(), statusAddr)
		if err != nil {
			return res, err
		}
		s.At = time.Since(begin).Round(time.Second)
		res.Samples = append(res.Samples, s)
		if time.Since(begin) >= cfg.Duration {
			break
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-sc.Exited():
			return res, fmt.Errorf("the sidecar exited (%v):\n%s", sc.Err(), sc.Output())
		case <-time.After(min(cfg.Every, cfg.Duration-time.Since(begin))):
		}
	}
	res.Registered = lookup() == nil
	return res, nil
}

// start runs bin/vertice-<name> with only env in its environment (no
// stray REGISTRY_TOKEN from the caller's).
func start(cfg Config, name string, env ...string) (*proc.Process, error) {
	cmd := exec.Command(filepath.Join(cfg.Bin, "vertice-"+name))
	cmd.Env = env
	return proc.Start(name, cmd, filepath.Join(cfg.WorkDir, name+".log"))
}

// imageSize builds the image and reports its size, or -1 without a Docker
// engine (the process numbers are still worth having).
func imageSize(ctx context.Context, cfg Config) (int64, error) {
	build := exec.CommandContext(ctx, "docker", "build", "-q", "-f", cfg.Dockerfile, "-t", Image, cfg.Bin)
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Printf("bench:sidecar: no image size: %v %s\n", err, out)
		return -1, nil
	}
	out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "-f", "{{.Size}}", Image).Output()
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
}

// read samples the process's memory and CPU, and the heartbeat counter of
// its status server.
func read(pid int, statusAddr string) (Sample, error) {
	mem, err := host.ProcessMemory(pid)
	if err != nil {
		return Sample{}, err
	}
	return Sample{Mem: mem, CPU: host.ProcessCPU(pid), Heartbeats: metric(statusAddr, "vertice_sidecar_heartbeats_total")}, nil
}

// metric is one unlabelled sample of the sidecar's /metrics, "?" when
// unread.
func metric(statusAddr, name string) string {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + statusAddr + "/metrics")
	if err != nil {
		return "?"
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return v
		}
	}
	return "?"
}
