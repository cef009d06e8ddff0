package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/internal/testkit/proc"
)

// fakeBin writes shell scripts as bin/vertice-<app>: registry runs
// registryScript, the others sleep until signalled.
func fakeBin(t *testing.T, registryScript string) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range programs {
		script := "#!/bin/sh\nexec sleep 30\n"
		if p.app == "registry" {
			script = "#!/bin/sh\n" + registryScript + "\n"
		}
		if err := os.WriteFile(filepath.Join(dir, "vertice-"+p.app), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestOneProgramDyingStopsTheOthers(t *testing.T) {
	start := time.Now()
	err := Run(context.Background(), fakeBin(t, "echo bad REGISTRY_TTL; exit 2"), &proc.Tail{})
	if err == nil || !strings.Contains(err.Error(), "exit status 2") {
		t.Fatalf("got %v, want the registry's exit status 2", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("took %s: the sleeping programs were not stopped", took)
	}
}

func TestCancelStopsEverythingCleanly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out proc.Tail
	time.AfterFunc(300*time.Millisecond, cancel)
	if err := Run(ctx, fakeBin(t, "exec sleep 30"), &out); err != nil {
		t.Fatalf("Ctrl-C: got %v, want a clean exit", err)
	}
	for _, want := range []string{"curl localhost:8888/services", "web UI    http://localhost:8888/ui/", "bin/vertice services"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("no %q in the banner %q", want, out.String())
		}
	}
}
