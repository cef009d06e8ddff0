package gateway

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vertice/vertice/adapters/ginapi"
	"github.com/vertice/vertice/adapters/memstore"
	"github.com/vertice/vertice/adapters/proxy"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/registry"
	"github.com/vertice/vertice/internal/bench/wrk"
	"github.com/vertice/vertice/internal/testkit/freeport"
	"github.com/vertice/vertice/internal/testkit/poll"
	"github.com/vertice/vertice/internal/testkit/proc"
	"github.com/vertice/vertice/ports"
)

// Config says what to run and where. Zero values are not defaults: main
// fills them from flags.
type Config struct {
	Gateway, Nginx, Self string        // binaries; Self runs the upstream role
	Baseline             string        // optional: another gateway binary measured alongside (A/B)
	Warmup, Duration     time.Duration // per measurement
	Rounds               int           // measurements per path and concurrency, interleaved; rows are medians (0: 1)
	Only                 []string      // when set, measure only these paths (and direct)
	Connections          []int         // one row group per value
	ServerCPUs, LoadCPUs string        // taskset lists: servers vs wrk
	WorkDir              string        // logs and nginx files
}

// Row is one measured path at one concurrency.
type Row struct {
	Path        string
	Connections int
	wrk.Report
}

const service = "bench_service"

// Run starts the upstream, a registry, the gateway and nginx, measures each
// path and stops everything it started.
func Run(ctx context.Context, cfg Config, log io.Writer) ([]Row, error) {
	var procs []*proc.Process
	defer func() {
		for _, p := range procs {
			p.Stop(5 * time.Second)
		}
	}()
	var addrs [6]string
	for i := range addrs {
		a, err := freeport.Addr()
		if err != nil {
			return nil, err
		}
		addrs[i] = a
	}
	upAddr, gwAddr, ngAddr, bareAddr, tracedAddr, baseAddr := addrs[0], addrs[1], addrs[2], addrs[3], addrs[4], addrs[5]
	up, err := start(cfg, "upstream", []string{"GOMAXPROCS=1"}, cfg.Self, "upstream", "-addr", upAddr)
	if err != nil {
		return nil, err
	}
	procs = append(procs, up)
	bare, err := start(cfg, "bare-reverseproxy", []string{"GOMAXPROCS=1", "GOGC=400"}, cfg.Self,
		"bareproxy", "-addr", bareAddr, "-upstream", "http://"+upAddr)
	if err != nil {
		return nil, err
	}
	procs = append(procs, bare)
	regURL, closeReg, err := startRegistry("http://" + upAddr)
	if err != nil {
		return nil, err
	}
	defer closeReg()
	// The gateway as shipped, tracing off (no OTEL_* variable), and the
	// same binary exporting a span per request to an OTLP receiver here.
	gwEnv := []string{"GOMAXPROCS=1", "LOG_LEVEL=warn", "REGISTRY_URL=" + regURL}
	gw, err := start(cfg, "gateway", append(gwEnv, "GATEWAY_ADDR="+gwAddr), cfg.Gateway)
	if err != nil {
		return nil, err
	}
	procs = append(procs, gw)
	sink, err := startOTLPSink()
	if err != nil {
		return nil, err
	}
	defer sink.close()
	traced, err := start(cfg, "gateway-traced", append(gwEnv, "GATEWAY_ADDR="+tracedAddr,
		"OTEL_EXPORTER_OTLP_ENDPOINT="+sink.url), cfg.Gateway)
	if err != nil {
		return nil, err
	}
	procs = append(procs, traced)
	if cfg.Baseline != "" {
		base, err := start(cfg, "gateway-baseline", append(gwEnv, "GATEWAY_ADDR="+baseAddr), cfg.Baseline)
		if err != nil {
			return nil, err
		}
		procs = append(procs, base)
	}
	conf, err := writeNginxConfig(cfg.WorkDir, upAddr, ngAddr)
	if err != nil {
		return nil, err
	}
	ng, err := start(cfg, "nginx", nil, cfg.Nginx, "-p", cfg.WorkDir, "-c", conf)
	if err != nil {
		return nil, err
	}
	procs = append(procs, ng)

	paths := []struct{ name, url string }{
		{"direct", "http://" + upAddr + "/"},
		{"vertice-gateway", "http://" + gwAddr + "/v2/" + service + "/"},
		{tracedPath, "http://" + tracedAddr + "/v2/" + service + "/"},
		{"nginx", "http://" + ngAddr + "/v2/" + service + "/"},
		{barePath, "http://" + bareAddr + "/v2/" + service + "/"},
	}
	if cfg.Baseline != "" {
		paths = append(paths[:2], append([]struct{ name, url string }{
			{baselinePath, "http://" + baseAddr + "/v2/" + service + "/"}}, paths[2:]...)...)
	}
	for _, p := range paths {
		if err := poll.Until(ctx, 15*time.Second, poll.Status(p.url, http.StatusOK)); err != nil {
			return nil, fmt.Errorf("%s: %w (logs in %s)", p.name, err, cfg.WorkDir)
		}
	}
	// Each round measures every path at every concurrency in turn; a row
	// is the path's median round. Other work on the host comes and goes:
	// interleaved short rounds expose every path to it alike, where one
	// long run per path would hand a burst to whichever path ran then.
	runs := map[string][]wrk.Report{}
	if len(cfg.Only) > 0 {
		paths = slices.DeleteFunc(paths, func(p struct{ name, url string }) bool {
			return p.name != "direct" && !slices.Contains(cfg.Only, p.name)
		})
	}
	for round := range max(1, cfg.Rounds) {
		order := slices.Clone(paths)
		if round%2 == 1 { // every other round backwards: no path always runs right after another
			slices.Reverse(order)
		}
		for _, c := range cfg.Connections {
			for _, p := range order {
				opts := wrk.Options{URL: p.url, Connections: c, Duration: cfg.Warmup, CPUs: cfg.LoadCPUs, Dir: cfg.WorkDir}
				if _, err := wrk.Run(ctx, opts); err != nil {
					return nil, err
				}
				opts.Duration = cfg.Duration
				res, err := wrk.Run(ctx, opts)
				if err != nil {
					return nil, err
				}
				fmt.Fprintf(log, "round %d %-16s c=%-3d %10.0f req/s  p50 %-9s p99 %-9s errors %s\n",
					round+1, p.name, c, res.RPS, res.P50, res.P99, res.ErrorText())
				key := fmt.Sprint(p.name, "|", c)
				runs[key] = append(runs[key], res)
			}
		}
	}
	var rows []Row
	for _, c := range cfg.Connections {
		for _, p := range paths {
			rows = append(rows, Row{Path: p.name, Connections: c, Report: median(runs[fmt.Sprint(p.name, "|", c)])})
		}
	}
	if !slices.ContainsFunc(paths, func(p struct{ name, url string }) bool { return p.name == tracedPath }) {
		return rows, nil // the traced gateway was not measured
	}
	batches, spans := sink.counts()
	fmt.Fprintf(log, "OTLP receiver: %d batches, %d spans from the traced gateway\n", batches, spans)
	if spans == 0 {
		return nil, fmt.Errorf("the traced gateway exported no span (logs in %s)", cfg.WorkDir)
	}
	return rows, nil
}

// median is the report with the median requests/s (the lower middle one
// of an even count), latencies and errors included.
func median(reports []wrk.Report) wrk.Report {
	sorted := slices.Clone(reports)
	slices.SortFunc(sorted, func(a, b wrk.Report) int { return cmp.Compare(a.RPS, b.RPS) })
	return sorted[(len(sorted)-1)/2]
}

// The rows of the traced gateway and of the optional baseline binary.
const (
	tracedPath   = "vertice-gateway, tracing on"
	baselinePath = "vertice-gateway, baseline binary"
)

// barePath names the row of BareProxy: the ceiling of net/http's
// ReverseProxy on this layout, with none of the gateway's own work.
const barePath = "bare httputil.ReverseProxy"

// BareProxy serves httputil.ReverseProxy to upstream with the gateway's
// transport settings and nothing else: no routing, breakers, metrics or
// X-Forwarded-* (what the issue prescribes the gateway be built on).
func BareProxy(addr, upstream string) error {
	u, err := url.Parse(upstream)
	if err != nil {
		return err
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = proxy.NewTransport(proxy.DefaultDialTimeout, proxy.DefaultTimeout, proxy.DefaultIdleTimeout, proxy.DefaultMaxIdleConnsPerHost)
	return (&http.Server{Addr: addr, Handler: rp, ReadHeaderTimeout: 10 * time.Second}).ListenAndServe()
}

// Upstream is the small service under test: a fixed 13-byte answer.
func Upstream(addr string) error {
	body := []byte("hello, world\n")
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body)
	})
	return (&http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}).ListenAndServe()
}

// startRegistry serves a real registry (memory store) in this process and
// registers the upstream; it sees one lookup per cache TTL, so it does not
// compete for CPU.
func startRegistry(endpoint string) (string, func(), error) {
	clock := ports.SystemClock{}
	svc := registry.New(memstore.New(clock), nil, clock, 24*time.Hour)
	if _, _, err := svc.Register(context.Background(), catalog.Registration{ServiceName: service, Endpoint: endpoint}); err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: ginapi.New(ginapi.Options{Registry: svc}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// start runs bin pinned to the server CPUs (taskset execs it, so the
// process is the program's), logging to WorkDir/name.log.
func start(cfg Config, name string, env []string, bin string, args ...string) (*proc.Process, error) {
	cmd := exec.Command("taskset", append([]string{"-c", cfg.ServerCPUs, bin}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	return proc.Start(name, cmd, filepath.Join(cfg.WorkDir, name+".log"))
}

// Markdown renders rows as the docs page, with the verdict on each goal.
func Markdown(rows []Row, cfg Config, machine, command string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Gateway benchmark\n\nReproduce with `%s` (Debian packages `nginx-light` and `wrk`; the target installs them when missing and run as root).\n\n", command)
	fmt.Fprintf(&b, "Machine: %s. Measured %s.\n\n", machine, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "Setup, all on 127.0.0.1: a Go upstream answering 13 bytes; `wrk -t1` pinned to CPU %s; "+
		"the upstream, vertice-gateway (GOMAXPROCS=1, routes from its 5 s cache of a real registry; run twice: as "+
		"shipped, tracing off, and with OTEL_EXPORTER_OTLP_ENDPOINT set to an OTLP/HTTP receiver in the harness, "+
		"tracing on) and nginx "+
		"(1 worker, keepalive 256 to the upstream, same X-Forwarded-* headers, no access log) pinned to CPU %s, "+
		"and, as the ceiling of the library the gateway is built on, a bare `httputil.ReverseProxy` (GOMAXPROCS=1, GOGC=400, "+
		"the gateway's transport settings, nothing else) on the same CPU. "+
		"So a proxy shares its CPU with the upstream, as a sidecar-less host would. Each run: %s warm-up, then %s measured; "+
		"%d round(s) of every path in turn, each row the path's median round (by requests/s).\n\n",
		cfg.LoadCPUs, cfg.ServerCPUs, cfg.Warmup, cfg.Duration, max(1, cfg.Rounds))
	if cfg.Baseline != "" {
		b.WriteString("The row \"" + baselinePath + "\" is another gateway binary run the same way (tracing off), " +
			"given with -baseline: an A/B against the gateway as it was, in the same run.\n\n")
	}
	b.WriteString("| connections | path | requests/s | vs direct | p50 | p99 | p50 added | p99 added | errors |\n|---|---|---|---|---|---|---|---|---|\n")
	direct := map[int]wrk.Report{}
	for _, r := range rows {
		if r.Path == "direct" {
			direct[r.Connections] = r.Report
		}
	}
	for _, r := range rows {
		d := direct[r.Connections]
		fmt.Fprintf(&b, "| %d | %s | %.0f | %.2f× | %s | %s | %s | %s | %s |\n", r.Connections, r.Path, r.RPS, r.RPS/d.RPS,
			r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), (r.P50 - d.P50).Round(time.Microsecond),
			(r.P99 - d.P99).Round(time.Microsecond), r.ErrorText())
	}
	b.WriteString("\n" + verdict(rows, direct) + "\n" + tracingVerdict(rows) + "\n" + notes)
	return b.String()
}

// tracingVerdict compares the gateway with tracing on, and the baseline
// binary when there is one, to the gateway as shipped.
func tracingVerdict(rows []Row) string {
	byKey := map[string]wrk.Report{}
	for _, r := range rows {
		byKey[fmt.Sprint(r.Path, r.Connections)] = r.Report
	}
	var b strings.Builder
	b.WriteString("Tracing (the traced gateway exports a span for every request: wrk sends no traceparent, so each " +
		"request starts a sampled trace, the SDK's default; batched to an OTLP/HTTP receiver in the harness):\n\n")
	for _, r := range rows {
		if r.Path != "vertice-gateway" {
			continue
		}
		c, off := r.Connections, r.Report
		fmt.Fprintf(&b, "- %d connections: tracing off %.0f req/s, p50 %s\n", c, off.RPS, off.P50.Round(time.Microsecond))
		if on, ok := byKey[fmt.Sprint(tracedPath, c)]; ok {
			fmt.Fprintf(&b, "  - tracing on: %.0f req/s, %.2f× tracing off; p50 %s\n",
				on.RPS, on.RPS/off.RPS, on.P50.Round(time.Microsecond))
		}
		if base, ok := byKey[fmt.Sprint(baselinePath, c)]; ok {
			fmt.Fprintf(&b, "  - the baseline binary: %.0f req/s, p50 %s; tracing off is %.2f× of it\n",
				base.RPS, base.P50.Round(time.Microsecond), off.RPS/base.RPS)
		}
	}
	return b.String()
}

// notes explain how to read the table; they hold whatever the numbers are.
const notes = `Reading these numbers:

- The bare ` + "`httputil.ReverseProxy`" + ` row is the most any gateway built on it can reach here: the gateway's
  distance to it is its own work (routing, breakers, metrics), its distance to nginx is net/http's.
- On a 2-CPU host every proxy shares CPU 0 with the upstream, so its ratio to direct mostly measures the CPU it
  takes from the upstream; the ratio that says most about the gateway is gateway vs nginx in the same layout.
- When the load average is above 2 (other builds and tests on the host), p99 is mostly scheduler noise for all
  three paths; p50 added is the steadier figure. Rerun on an idle host before quoting p99.
- CPU cost per request, without scheduling noise: ` + "`go test -run '^$' -bench . -benchmem ./adapters/proxy/`" + `
  (BenchmarkProxy vs BenchmarkDirect, client and upstream in the same process), or through the wired gateway with
  metrics: ` + "`go test -run '^$' -bench Gateway -cpuprofile cpu.prof ./apps/gateway/`" + ` and
  ` + "`go tool pprof -tagfocus side=gateway -top cpu.prof`" + `. That profile puts ~40% of the gateway's CPU in the
  read/write syscalls (two writes and three to four reads per request, all inside net/http's server and transport),
  most of the rest in net/http and httputil (header parsing and copying, the transport's per-connection goroutines);
  the gateway's own code (routing, metrics, X-Forwarded-*) is about 2%. GC was the one large avoidable cost; the
  gateway runs at GOGC=400 unless GOGC is set (docs/gateway.md).
`

func verdict(rows []Row, direct map[int]wrk.Report) string {
	byKey := map[string]wrk.Report{}
	for _, r := range rows {
		byKey[fmt.Sprint(r.Path, r.Connections)] = r.Report
	}
	var b strings.Builder
	b.WriteString("Goals (≥ 0.8× direct, ≥ nginx, p99 added ≤ 1 ms), as measured:\n\n")
	for _, r := range rows {
		if r.Path != "direct" {
			continue
		}
		c, d := r.Connections, r.Report
		gw, ng := byKey[fmt.Sprint("vertice-gateway", c)], byKey[fmt.Sprint("nginx", c)]
		if gw.RPS == 0 || ng.RPS == 0 {
			continue // not measured (-only)
		}
		fmt.Fprintf(&b, "- %d connections: gateway %.2f× direct (%s), %.2f× nginx (%s), p99 added %s (%s)\n",
			c, gw.RPS/d.RPS, yes(gw.RPS >= 0.8*d.RPS), gw.RPS/ng.RPS, yes(gw.RPS >= ng.RPS),
			(gw.P99 - d.P99).Round(time.Microsecond), yes(gw.P99-d.P99 <= time.Millisecond))
		if bare, ok := byKey[fmt.Sprint(barePath, c)]; ok {
			fmt.Fprintf(&b, "  - the bare httputil.ReverseProxy on the same CPU: %.2f× direct, %.2f× nginx; the gateway reaches %.2f× of it\n",
				bare.RPS/d.RPS, bare.RPS/ng.RPS, gw.RPS/bare.RPS)
		}
	}
	return b.String()
}

func yes(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}
