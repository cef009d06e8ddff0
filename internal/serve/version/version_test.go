package version

import (
	"runtime/debug"
	"testing"
)

func TestFromBuild(t *testing.T) {
	vcs := func(rev, modified string) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}}
	}
	for _, c := range []struct {
		name   string
		linked string
		bi     *debug.BuildInfo
		want   string
	}{
		{"linker wins", "v1.4.0", vcs("0123456789abcdef0123", "true"), "v1.4.0"},
		{"go install of a release", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3"},
		{"clean commit", "", vcs("0123456789abcdef0123", "false"), "devel-0123456789ab"},
		{"dirty tree", "", vcs("0123456789abcdef0123", "true"), "devel-0123456789ab-dirty"},
		{"short revision", "", vcs("abc", "false"), "devel-abc"},
		{"nothing stamped", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel"},
		{"no build info", "", nil, "devel"},
	} {
		if got := fromBuild(c.linked, c.bi); got != c.want {
			t.Errorf("%s: fromBuild = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestStringIsStable(t *testing.T) {
	if a, b := String(), String(); a == "" || a != b {
		t.Fatalf("String() = %q then %q", a, b)
	}
}
