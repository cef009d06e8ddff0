package browser

import (
	"os/exec"
	"testing"
)

// verdictTB records how Require ended the test instead of ending it.
type verdictTB struct {
	testing.TB
	fatal, skip bool
}

func (v *verdictTB) Helper()               {}
func (v *verdictTB) Fatalf(string, ...any) { v.fatal = true }
func (v *verdictTB) Skipf(string, ...any)  { v.skip = true }

// A missing browser skips outside CI and fails under CI; a present one
// neither.
func TestRequireSkipsOnlyOutsideCI(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ci, browser string
		fatal, skip bool
	}{
		{ci: "", browser: "/nonexistent/chromium", skip: true},
		{ci: "true", browser: "/nonexistent/chromium", fatal: true},
		{ci: "true", browser: sh},
		{ci: "", browser: sh},
	} {
		t.Setenv("CI", c.ci)
		t.Setenv(Env, c.browser)
		v := &verdictTB{TB: t}
		got := Require(v)
		if v.fatal != c.fatal || v.skip != c.skip || (!c.fatal && !c.skip && got != c.browser) {
			t.Errorf("CI=%q %s=%s: fatal %v skip %v path %q", c.ci, Env, c.browser, v.fatal, v.skip, got)
		}
	}
}
