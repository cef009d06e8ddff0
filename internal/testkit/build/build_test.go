package build

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRepoRootFindsGoMod(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !strings.Contains(string(b), "module "+Module+"\n") {
		t.Fatalf("root %s: %v", root, err)
	}
}

func TestAppsAreTheProgramFolders(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"apps/registry/main.go", "apps/gateway/main.go", "apps/notes/README.md"} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	apps, err := Apps(root)
	if err != nil || !slices.Equal(apps, []string{"gateway", "registry"}) {
		t.Fatalf("got %v, %v", apps, err)
	}
}

func TestSplitPackages(t *testing.T) {
	rest, cluster := SplitPackages([]string{Module + "/adapters/ginapi", Module + "/chaos", Module + "/e2e/flow",
		Module + "/deploy", Module + "/domain/routing", Module + "/internal/testkit/cluster"})
	if !slices.Equal(rest, []string{Module + "/adapters/ginapi", Module + "/domain/routing", Module + "/internal/testkit/cluster"}) ||
		!slices.Equal(cluster, []string{Module + "/chaos", Module + "/e2e/flow", Module + "/deploy"}) {
		t.Fatalf("rest %v, cluster %v", rest, cluster)
	}
}

func TestBinaryNames(t *testing.T) {
	for app, want := range map[string]string{"registry": "vertice-registry", "sidecar": "vertice-sidecar", "vertice": "vertice"} {
		if got := BinaryName(app); got != want {
			t.Errorf("BinaryName(%q) = %q, want %q", app, got, want)
		}
	}
}

func TestLinkFlagsStampTheVersion(t *testing.T) {
	if got := LinkFlags(""); got != "-s -w" {
		t.Errorf("LinkFlags(\"\") = %q", got)
	}
	if got := LinkFlags("v1.2.0-3-gabc"); got != "-s -w -X "+Module+"/internal/serve/version.Version=v1.2.0-3-gabc" {
		t.Errorf("LinkFlags = %q", got)
	}
}
