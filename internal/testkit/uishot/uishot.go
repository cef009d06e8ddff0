// Package uishot takes the screenshots of the web UI that the README
// shows (`go tool mage ui:shot`): it starts bin/vertice-registry with a few
// sample services, opens the services page and one service's page in
// headless Chromium, and writes them as PNG files.
package uishot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vertice/vertice/adapters/registryclient"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/internal/testkit/browser"
	"github.com/vertice/vertice/internal/testkit/freeport"
	"github.com/vertice/vertice/internal/testkit/poll"
)

// Files are the screenshots, in the folder Run writes to.
var Files = map[string]string{
	"ui-services.png": "/ui/",
	"ui-service.png":  "/ui/services/nmap_service",
}

// Width is the browser window's width; each picture is as tall as its page.
const Width = 1280

// Samples are the services the pictures show.
var Samples = []catalog.Registration{
	{ServiceName: "demo_service", InstanceID: "demo-1", Endpoint: "http://10.0.1.10:8080",
		Metadata: map[string]string{"version": "1.0.0", "status": "healthy"}},
	{ServiceName: "nmap_service", InstanceID: "nmap-a", Endpoint: "http://10.0.2.11:8047",
		Metadata: map[string]string{"version": "2.4.1", "zone": "eu-west-1a", "status": "healthy"}},
	{ServiceName: "nmap_service", InstanceID: "nmap-b", Endpoint: "http://10.0.2.12:8047",
		Metadata: map[string]string{"version": "2.4.1", "zone": "eu-west-1b", "status": "healthy"}},
	{ServiceName: "nmap_service", InstanceID: "nmap-c", Endpoint: "http://10.0.2.13:8047", HealthEndpoint: "/ready",
		Metadata: map[string]string{"version": "2.5.0-rc1", "zone": "eu-west-1c", "status": "unhealthy"}},
	{ServiceName: "osint_service", InstanceID: "osint-1", Endpoint: "https://osint.internal:8443/api",
		Metadata: map[string]string{"version": "3.0.2"}},
	{ServiceName: "osint_service", InstanceID: "osint-2", Endpoint: "https://osint.internal:8444/api",
		Metadata: map[string]string{"version": "3.0.2"}},
	{ServiceName: "payments_service", InstanceID: "pay-1", Endpoint: "http://10.0.3.20:9000",
		Metadata: map[string]string{"version": "5.12.0", "status": "unhealthy"}},
	{ServiceName: "search_service", InstanceID: "search-1", Endpoint: "http://10.0.4.30:9200",
		Metadata: map[string]string{"version": "8.1.0"}},
}

// Run starts registry (the vertice-registry binary), registers Samples,
// and writes Files into dir.
func Run(ctx context.Context, registry, dir string, log io.Writer) error {
	path, err := browser.Path()
	if err != nil {
		return err
	}
	base, stop, err := startRegistry(ctx, registry)
	if err != nil {
		return err
	}
	defer stop()
	client, err := registryclient.New(base, registryclient.Options{})
	if err != nil {
		return err
	}
	for _, r := range Samples {
		if err := client.Register(ctx, r); err != nil {
			return fmt.Errorf("uishot: register %s: %w", r.ServiceName, err)
		}
	}
	b, cancel, err := browser.Start(ctx, path, Width, 600)
	if err != nil {
		return err
	}
	defer cancel()
	for file, page := range Files {
		png, err := shoot(b, base+page)
		if err != nil {
			return fmt.Errorf("uishot: %s: %w", page, err)
		}
		out := filepath.Join(dir, file)
		if err := os.WriteFile(out, png, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(log, "uishot: %s (%s) written\n", out, page)
	}
	return nil
}

// shoot opens url in a new tab, waits until the page is live, and
// captures the whole page.
func shoot(b context.Context, url string) ([]byte, error) {
	tab, closeTab, err := browser.NewTab(b)
	if err != nil {
		return nil, err
	}
	defer closeTab()
	if err := browser.Open(tab, url); err != nil {
		return nil, err
	}
	if err := browser.Until(tab, 10*time.Second, `document.getElementById('live-state').textContent === 'live'`,
		`document.body.innerText`); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.FullScreenshot(100))
}

// startRegistry runs the registry binary on a free loopback port until
// stop, which ends it as an orchestrator would (SIGTERM).
func startRegistry(ctx context.Context, bin string) (string, func(), error) {
	addr, err := freeport.Addr()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "REGISTRY_ADDR="+addr, "REGISTRY_TTL=60s", "LOG_LEVEL=warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("uishot: start %s: %w", bin, err)
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
	base := "http://" + addr
	err = poll.Until(ctx, 10*time.Second, func() error {
		resp, err := http.Get(base + "/health")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return errors.New(resp.Status)
		}
		return nil
	})
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("uishot: registry at %s: %w", base, err)
	}
	return base, stop, nil
}
