package sidecar

import (
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/bench/host"
)

func TestMarkdown(t *testing.T) {
	res := Result{BinarySize: 3_100_000, ImageSize: -1, Registered: true, Samples: []Sample{
		{At: 0, Mem: host.Memory{RSS: 4000, Anon: 1000, File: 3000, HWM: 4000}, CPU: 0, Heartbeats: "1"},
		{At: time.Minute, Mem: host.Memory{RSS: 5100, Anon: 2100, File: 3000, HWM: 5200}, CPU: 90 * time.Millisecond, Heartbeats: "60"},
	}}
	md := Markdown(res, time.Minute, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	for _, want := range []string{
		"Measured by `go tool mage bench:sidecar` (2026-11-25,",
		"| bin/vertice-sidecar (static, -trimpath -s -w) | 3.10 MB | |",
		"| image vertice/sidecar:bench (FROM scratch) | n/a (no Docker engine) | ≤ 12 MB |",
		"| RSS at the end (VmRSS) | 5100 kB | ≤ 10 MB |",
		"| peak RSS (VmHWM) | 5200 kB | ≤ 10 MB |",
		"| CPU time over 1m0s (utime+stime) | 0.09 s (0.150% of one CPU) | |",
		"| still registered at the end | true | true |",
		"| 1m0s | 5100 | 2100 | 3000 | 5200 | 0.09 | 60 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(md)
	}
}
