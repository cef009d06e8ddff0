// Package lint is what `go tool mage lint` and `go tool mage fuzz` do:
// gofmt, go vet, staticcheck and govulncheck (offline, from the
// golang.org/x/vulndb module), and every fuzz target for a while.
package lint

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/magefile/mage/sh"
)

// vulndbVersion is the golang.org/x/vulndb module whose data/osv folder
// lint turns into govulncheck's database: this machine and CI reach the Go
// module proxy but not vuln.go.dev. Bump it to learn of newer
// vulnerabilities. VULNDB=<url> (https://vuln.go.dev, file:///dir) uses
// another database instead.
const vulndbVersion = "v0.0.0-20261105234957-e22db6528018"

// acceptedVulns are govulncheck findings lint reports on every run but
// does not fail on, each with the reason. Anything else found fails lint.
var acceptedVulns = map[string]string{}

func init() {
	// Fixed in Go 1.26.9 and 1.26.10. The project builds with go1.26.8, and
	// the only newer toolchain this workplace serves is go1.27.3: moving to
	// it (GOTOOLCHAIN, README, .ci/run) is the lead's decision.
	for _, id := range []string{"GO-2026-6809", "GO-2026-6617", "GO-2026-6613", "GO-2026-6612", "GO-2026-6611",
		"GO-2026-6610", "GO-2026-6608", "GO-2026-6607", "GO-2026-6605", "GO-2026-6603"} {
		acceptedVulns[id] = "standard library: fixed in a Go release newer than the project's go1.26.8"
	}
	// html/template, fixed in Go 1.26.9 like the above: escaping inside
	// JavaScript (template literals, a regexp after yield). The web UI's
	// templates (adapters/ui) have no JavaScript context: no <script> body,
	// no event handler attribute; the CSP forbids both and
	// TestNoInlineScriptOrStyle checks the pages. The only other use is
	// golang.org/x/net/trace's debug pages, which gRPC (linked by the
	// OpenTelemetry OTLP exporter, adapters/tracing) registers on
	// http.DefaultServeMux; no program serves that mux.
	for _, id := range []string{"GO-2026-6599", "GO-2026-6600"} {
		acceptedVulns[id] = "html/template in JavaScript contexts, which the web UI's templates never enter and " +
			"x/net/trace's pages (on http.DefaultServeMux, served by no program) are the only other user; fixed in go1.26.9"
	}
}

// Run fails when gofmt would change a file, go vet or staticcheck finds a
// problem, or govulncheck finds a vulnerability our code reaches that is
// not accepted (acceptedVulns). staticcheck and govulncheck are Go tools
// of the module (go.mod's tool lines); a finding staticcheck is wrong
// about is silenced in the code with //lint:ignore and the reason. It
// runs in the repository's root.
func Run() error {
	out, err := sh.Output("gofmt", "-l", ".")
	if err != nil {
		return err
	}
	if out != "" {
		return fmt.Errorf("gofmt would change:\n%s", out)
	}
	if err := sh.RunV("go", "vet", "./..."); err != nil {
		return err
	}
	if err := sh.RunV("go", "tool", "staticcheck", "./..."); err != nil {
		return err
	}
	if err := sh.RunV("go", "tool", "staticcheck", "-tags", "mage", "."); err != nil {
		return fmt.Errorf("staticcheck on the magefiles: %w", err)
	}
	return vulncheck()
}

// vulncheck runs govulncheck on every package against the offline
// database and fails on any vulnerability that our code calls, unless
// accepted. Those only imported or required are listed, not failed on.
func vulncheck() error {
	db := os.Getenv("VULNDB")
	if db == "" {
		dir, err := offlineVulnDB()
		if err != nil {
			return fmt.Errorf("govulncheck: cannot build its database from golang.org/x/vulndb@%s "+
				"(set VULNDB to a database URL to use another): %w", vulndbVersion, err)
		}
		db = "file://" + dir
	}
	fmt.Println("govulncheck: database", db)
	var stdout bytes.Buffer
	cmd := exec.Command("go", "tool", "govulncheck", "-db", db, "-format", "json", "./...")
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("govulncheck: %w", err)
	}
	called, other, err := vulnFindings(&stdout)
	if err != nil {
		return err
	}
	var failed []string
	for _, id := range sortedKeys(called) {
		if why, ok := acceptedVulns[id]; ok {
			fmt.Printf("govulncheck: ACCEPTED %s in %s (%s)\n", id, called[id], why)
			continue
		}
		fmt.Printf("govulncheck: FOUND %s in %s, reached from our code: https://pkg.go.dev/vuln/%s\n", id, called[id], id)
		failed = append(failed, id)
	}
	fmt.Printf("govulncheck: %d reached (%d accepted), %d more in imported packages or required modules that our code does not reach\n",
		len(called), len(called)-len(failed), len(other))
	if len(failed) > 0 {
		return fmt.Errorf("govulncheck: %s reached from our code; upgrade the module (go get) or accept it with a reason in internal/testkit/lint",
			strings.Join(failed, ", "))
	}
	return nil
}

// vulnFindings reads govulncheck's JSON stream: a finding whose trace
// starts at a function is reached from our code (called); the others are
// in imported packages or required modules only. Values say where.
func vulnFindings(r io.Reader) (called, other map[string]string, err error) {
	called, other = map[string]string{}, map[string]string{}
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Finding *struct {
				OSV          string `json:"osv"`
				FixedVersion string `json:"fixed_version"`
				Trace        []struct {
					Module   string `json:"module"`
					Version  string `json:"version"`
					Function string `json:"function"`
				} `json:"trace"`
			} `json:"finding"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			return called, other, nil
		} else if err != nil {
			return nil, nil, fmt.Errorf("govulncheck: reading its JSON: %w", err)
		}
		f := msg.Finding
		if f == nil || len(f.Trace) == 0 {
			continue
		}
		where := fmt.Sprintf("%s@%s, fixed in %s", f.Trace[0].Module, f.Trace[0].Version, f.FixedVersion)
		if f.Trace[0].Function != "" {
			called[f.OSV] = where
		} else if _, ok := called[f.OSV]; !ok {
			other[f.OSV] = where
		}
	}
}

// offlineVulnDB returns a folder holding govulncheck's database, built
// once per vulndbVersion (in the user's cache) from the OSV files the
// golang.org/x/vulndb module ships, by that module's own cmd/indexdb.
func offlineVulnDB() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "vertice", "vulndb", vulndbVersion)
	if _, err := os.Stat(filepath.Join(dir, "index", "db.json")); err == nil {
		return dir, nil
	}
	mod := "golang.org/x/vulndb@" + vulndbVersion
	out, err := sh.Output("go", "mod", "download", "-json", mod)
	if err != nil {
		return "", err
	}
	var dl struct{ Dir, Error string }
	if err := json.Unmarshal([]byte(out), &dl); err != nil || dl.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s %v", mod, dl.Error, err)
	}
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return "", err
	}
	fmt.Println("govulncheck: building its database from", mod, "(once per version)")
	if err := sh.RunV("go", "run", "golang.org/x/vulndb/cmd/indexdb@"+vulndbVersion,
		"-vulns", filepath.Join(dl.Dir, "data", "osv"), "-out", tmp); err != nil {
		return "", err
	}
	return dir, os.Rename(tmp, dir)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Fuzz runs every fuzz target (func FuzzXxx in a _test.go file) for
// fuzzTime each, one after another. Their seed corpora run with the
// ordinary tests; this looks further, on demand, never in CI. A failure
// leaves its input under the package's testdata/fuzz/ to commit with the
// fix.
func Fuzz(fuzzTime string) error {
	targets, err := fuzzTargets(".")
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		return errors.New("no fuzz targets found")
	}
	for _, t := range targets {
		fmt.Printf("fuzz: %s %s for %s\n", t.pkg, t.name, fuzzTime)
		if err := sh.RunV("go", "test", "-run", "^$", "-fuzz", "^"+t.name+"$", "-fuzztime", fuzzTime, t.pkg); err != nil {
			return fmt.Errorf("fuzz %s %s: %w", t.pkg, t.name, err)
		}
	}
	return nil
}

type fuzzTarget struct{ pkg, name string }

var fuzzFunc = regexp.MustCompile(`^func (Fuzz\w*)\(\w+ \*testing\.F\)`)

// fuzzTargets finds the fuzz targets under root, by package folder.
func fuzzTargets(root string) ([]fuzzTarget, error) {
	var out []fuzzTarget
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if m := fuzzFunc.FindStringSubmatch(sc.Text()); m != nil {
				out = append(out, fuzzTarget{pkg: "./" + filepath.Dir(path), name: m[1]})
			}
		}
		return sc.Err()
	})
	return out, err
}
