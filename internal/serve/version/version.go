// Package version names the build a binary came from, for /health, the
// web UI and `vertice version`: the release set at link time, or else what
// the Go toolchain stamped into the binary (the module's version, or the
// commit it was built from).
package version

import (
	"runtime/debug"
	"sync"
)

// Version, when set at link time, is the release name and wins over what
// the build info says:
//
//	go build -ldflags "-X github.com/vertice/vertice/internal/serve/version.Version=v1.4.0" ./apps/registry
var Version string

// Unknown is what String says when neither the linker nor the build info
// names the build (a binary built outside a module or a repository).
const Unknown = "devel"

var cached = sync.OnceValue(func() string {
	bi, _ := debug.ReadBuildInfo()
	return fromBuild(Version, bi)
})

// String names this binary's build: Version when set; else the module
// version of a `go install …@v1.2.3`; else "devel-" and the commit's first
// 12 hex digits, "-dirty" when the tree had uncommitted changes; else
// Unknown.
func String() string { return cached() }

// fromBuild is String's rule over what the linker and the toolchain say.
func fromBuild(linked string, bi *debug.BuildInfo) string {
	if linked != "" {
		return linked
	}
	if bi == nil {
		return Unknown
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return Unknown
	}
	out := Unknown + "-" + rev[:min(12, len(rev))]
	if dirty {
		out += "-dirty"
	}
	return out
}
