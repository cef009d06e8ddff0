package routing_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/routing"
)

// vinst is an instance of nmap_service at version (none when "").
func vinst(id, version, status string) catalog.Instance {
	in := inst(id, "http://"+id+":1", status)
	if version != "" {
		in.Metadata[catalog.VersionKey] = version
	}
	return in
}

func mustSplit(t *testing.T, s string) routing.Split {
	t.Helper()
	split, err := routing.ParseSplit(s)
	if err != nil {
		t.Fatal(err)
	}
	return split
}

func splitFixture(t *testing.T, split string, list ...catalog.Instance) *fixture {
	t.Helper()
	return newFixture(t, nil, routing.Settings{EjectAfter: 1, EjectFor: 10 * time.Second,
		Versions: map[string]routing.Split{"nmap_service": mustSplit(t, split)}}, list...)
}

// versions picks n times (a new Resolve each time, as requests do) and
// counts the versions picked, "" for none.
func (f *fixture) versions(t *testing.T, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		rt, _ := f.resolve(t, "nmap_service")
		got[rt.Pick(nil).Version]++
	}
	return got
}

func TestParseSplit(t *testing.T) {
	for in, want := range map[string]routing.Split{
		"1.0.0:90,1.1.0:10":       {{"1.0.0", 90}, {"1.1.0", 10}},
		" 1.0.0 : 90 , none:10 ":  {{"1.0.0", 90}, {"", 10}},
		"v2:1":                    {{"v2", 1}},
		"sha:abc:100,1.0.0:0":     {{"sha:abc", 100}, {"1.0.0", 0}},
		"1.0.0+build.7-rc.1:9999": {{"1.0.0+build.7-rc.1", 9999}},
	} {
		got, err := routing.ParseSplit(in)
		if err != nil {
			t.Errorf("ParseSplit(%q): %v", in, err)
			continue
		}
		if got.String() != want.String() || len(got) != len(want) {
			t.Errorf("ParseSplit(%q) = %v, want %v", in, got, want)
		}
	}
	for in, rule := range map[string]string{
		"":                  "version:weight",
		"1.0.0":             "version:weight",
		"1.0.0:90,":         "version:weight",
		":90":               "version is empty",
		"1.0.0:x":           "whole number",
		"1.0.0:-1":          "whole number",
		"1.0.0:10001":       "whole number",
		"1.0.0:1.5":         "whole number",
		"1.0.0:0":           "at least one weight above 0",
		"1.0.0:50,1.0.0:50": "twice",
		"none:1, none :2":   `"none" twice`,
	} {
		if _, err := routing.ParseSplit(in); err == nil || !strings.Contains(err.Error(), rule) {
			t.Errorf("ParseSplit(%q) err = %v, want one saying %q", in, err, rule)
		}
	}
}

func TestSettingsRejectABadSplitOrServiceName(t *testing.T) {
	for name, split := range map[string]routing.Split{
		"NMAP":         {{"1.0.0", 1}},
		"nmap_service": {{"1.0.0", 0}},
	} {
		s := routing.Settings{Versions: map[string]routing.Split{name: split}}
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Versions[%q] = %v: err %v, want one naming the service", name, split, err)
		}
	}
}

func TestSplitIsExactOverAThousandPicks(t *testing.T) {
	// Two stable instances and one canary; an unversioned instance and an
	// unlisted version get nothing while the split's versions are there.
	f := splitFixture(t, "1.0.0:90,1.1.0:10",
		vinst("a", "1.0.0", ""), vinst("b", "1.0.0", ""), vinst("c", "1.1.0", ""),
		vinst("d", "", ""), vinst("e", "2.0.0", ""))
	got := f.versions(t, 1000)
	if got["1.0.0"] != 900 || got["1.1.0"] != 100 || len(got) != 2 {
		t.Fatalf("versions picked %v, want 900 1.0.0 and 100 1.1.0 exactly", got)
	}
}

func TestSplitRoundRobinsInsideAVersion(t *testing.T) {
	f := splitFixture(t, "1.0.0:90,1.1.0:10", vinst("a", "1.0.0", ""), vinst("b", "1.0.0", ""), vinst("c", "1.1.0", ""))
	got := map[string]int{}
	for range 100 {
		rt, _ := f.resolve(t, "nmap_service")
		got[rt.Pick(nil).InstanceID]++
	}
	if got["a"] != 45 || got["b"] != 45 || got["c"] != 10 {
		t.Fatalf("instances picked %v, want a 45, b 45, c 10", got)
	}
}

func TestSplitKeepsItsPhaseAcrossRefreshes(t *testing.T) {
	f := splitFixture(t, "1.0.0:90,1.1.0:10", vinst("a", "1.0.0", ""), vinst("c", "1.1.0", ""))
	got := map[string]int{}
	for i := range 1000 {
		if i%7 == 0 {
			f.clock.Advance(routing.DefaultCacheTTL) // a new route every seven picks
		}
		rt, _ := f.resolve(t, "nmap_service")
		got[rt.Pick(nil).Version]++
	}
	if got["1.0.0"] != 900 || got["1.1.0"] != 100 {
		t.Fatalf("versions picked %v across refreshes, want 900/100", got)
	}
}

func TestAVanishedVersionsShareGoesToTheOthersInProportion(t *testing.T) {
	f := splitFixture(t, "1.0.0:60,1.1.0:30,1.2.0:10",
		vinst("a", "1.0.0", ""), vinst("b", "1.1.0", ""), vinst("c", "1.2.0", ""))
	f.versions(t, 100)
	f.dir.set("nmap_service", 2, []catalog.Instance{vinst("a", "1.0.0", ""), vinst("c", "1.2.0", "")})
	f.clock.Advance(routing.DefaultCacheTTL)
	got := f.versions(t, 700)
	if got["1.0.0"] != 600 || got["1.2.0"] != 100 || got["1.1.0"] != 0 {
		t.Fatalf("versions picked %v without 1.1.0, want 600 1.0.0 and 100 1.2.0 (60:10)", got)
	}
}

func TestAnUnhealthyOrEjectedVersionLeavesItsShareToTheOthersInProportion(t *testing.T) {
	const split = "1.0.0:60,1.1.0:30,1.2.0:10"
	f := splitFixture(t, split, vinst("a", "1.0.0", ""), vinst("b", "1.1.0", catalog.StatusUnhealthy), vinst("c", "1.2.0", ""))
	if got := f.versions(t, 700); got["1.0.0"] != 600 || got["1.2.0"] != 100 {
		t.Fatalf("versions picked %v with 1.1.0 unhealthy, want 600 1.0.0 and 100 1.2.0 (60:10)", got)
	}
	f.dir.set("nmap_service", 2, []catalog.Instance{vinst("a", "1.0.0", ""), vinst("b", "1.1.0", ""), vinst("c", "1.2.0", "")})
	f.clock.Advance(routing.DefaultCacheTTL)
	rt, _ := f.resolve(t, "nmap_service")
	for _, tg := range rt.Targets() {
		if tg.Version == "1.1.0" {
			rt.Unreachable(tg) // EjectAfter 1
		}
	}
	if got := f.versions(t, 700); got["1.0.0"] != 600 || got["1.2.0"] != 100 {
		t.Fatalf("versions picked %v with 1.1.0 ejected, want 600 1.0.0 and 100 1.2.0 (60:10)", got)
	}
	f.clock.Advance(10 * time.Second)
	got := f.versions(t, 1000)
	for version, want := range map[string]int{"1.0.0": 600, "1.1.0": 300, "1.2.0": 100} {
		if d := got[version] - want; d < -2 || d > 2 {
			t.Fatalf("versions picked %v after the ejection ended, want 600/300/100", got)
		}
	}
}

func TestARetryAfterTheCanaryFailedGoesToAnotherVersion(t *testing.T) {
	f := splitFixture(t, "1.0.0:10,1.1.0:90", vinst("a", "1.0.0", ""), vinst("c", "1.1.0", ""))
	rt, _ := f.resolve(t, "nmap_service")
	first := rt.Pick(nil)
	if first.Version != "1.1.0" {
		t.Fatalf("first pick %s, want the 90 %% version", first.Version)
	}
	if retry := rt.Pick([]*routing.Target{first}); retry == nil || retry.Version != "1.0.0" {
		t.Fatalf("retry picked %v, want the other version", retry)
	}
	if last := rt.Pick([]*routing.Target{rt.Targets()[0], rt.Targets()[1]}); last != nil {
		t.Fatalf("picked %s with every instance tried, want nil", last.InstanceID)
	}
}

func TestWithNoListedVersionLeftTheOthersAreServed(t *testing.T) {
	f := splitFixture(t, "1.0.0:90,1.1.0:10", vinst("d", "", ""), vinst("e", "2.0.0", ""),
		vinst("u", "1.0.0", catalog.StatusUnhealthy))
	got := f.versions(t, 10)
	if got[""] != 5 || got["2.0.0"] != 5 {
		t.Fatalf("versions picked %v, want the unlisted ones round robin (never no answer)", got)
	}
}

func TestInstancesWithoutAVersionAreAGroupOfTheirOwn(t *testing.T) {
	f := splitFixture(t, "none:75,1.0.0:25", vinst("a", "1.0.0", ""), vinst("d", "", ""), vinst("e", "", ""))
	got := f.versions(t, 100)
	if got[""] != 75 || got["1.0.0"] != 25 {
		t.Fatalf("versions picked %v, want 75 unversioned and 25 1.0.0", got)
	}
}

func TestAZeroWeightVersionIsReachedOnlyWhenPinned(t *testing.T) {
	f := splitFixture(t, "1.0.0:100,1.1.0:0", vinst("a", "1.0.0", ""), vinst("c", "1.1.0", ""))
	if got := f.versions(t, 20); got["1.0.0"] != 20 {
		t.Fatalf("versions picked %v, want all 1.0.0", got)
	}
	rt, _ := f.resolve(t, "nmap_service")
	if tg := rt.PickVersion("1.1.0", nil); tg == nil || tg.InstanceID != "c" {
		t.Fatalf("pinned 1.1.0: picked %v, want c", tg)
	}
}

func TestPinnedVersion(t *testing.T) {
	f := newFixture(t, nil, routing.Settings{}, // no split: pinning works without one
		vinst("a", "1.0.0", ""), vinst("b", "1.1.0", ""), vinst("c", "1.1.0", catalog.StatusUnhealthy),
		vinst("d", "1.1.0", ""), vinst("e", "", ""))
	rt, _ := f.resolve(t, "nmap_service")
	got := map[string]int{}
	for range 10 {
		got[rt.PickVersion("1.1.0", nil).InstanceID]++
	}
	if got["b"] != 5 || got["d"] != 5 {
		t.Fatalf("pinned 1.1.0 picked %v, want b and d 5 each (c is unhealthy)", got)
	}
	if !rt.HasVersion("1.1.0") || rt.HasVersion("9.9.9") || rt.HasVersion("none") {
		t.Fatal("HasVersion: want 1.1.0 only (an unknown version, and none, are not listed)")
	}
	if tg := rt.PickVersion("9.9.9", nil); tg != nil {
		t.Fatalf("pinned an absent version: picked %s", tg.InstanceID)
	}
	var b, c, d *routing.Target
	for _, tg := range rt.Targets() {
		switch tg.InstanceID {
		case "b":
			b = tg
		case "c":
			c = tg
		case "d":
			d = tg
		}
	}
	if tg := rt.PickVersion("1.1.0", []*routing.Target{b, d}); tg != c {
		t.Fatalf("pinned retry with b and d tried picked %v, want the unhealthy c rather than another version", tg)
	}
	if tg := rt.PickVersion("1.1.0", []*routing.Target{b, c, d}); tg != nil {
		t.Fatalf("pinned retry with the version exhausted picked %s, want nil (never another version)", tg.InstanceID)
	}
}

func TestAServiceWithoutASplitIgnoresVersions(t *testing.T) {
	f := newFixture(t, nil, routing.Settings{Versions: map[string]routing.Split{"other_service": {{"2.0.0", 1}}}},
		vinst("a", "1.0.0", ""), vinst("b", "1.1.0", ""), vinst("c", "", ""))
	if got := f.versions(t, 9); got["1.0.0"] != 3 || got["1.1.0"] != 3 || got[""] != 3 {
		t.Fatalf("versions picked %v, want round robin (3 each)", got)
	}
}

func TestFallbackRouteServesASplitService(t *testing.T) {
	f := newFixture(t, map[string]string{"nmap_service": "http://fallback:8047"},
		routing.Settings{Versions: map[string]routing.Split{"nmap_service": {{"1.0.0", 1}}}})
	f.dir.fail(errDown)
	rt, src := f.resolve(t, "nmap_service")
	if tg := rt.Pick(nil); src != routing.FromFallback || tg == nil || tg.URL.Host != "fallback:8047" {
		t.Fatalf("picked %v via %v, want the fallback URL", tg, src)
	}
}
