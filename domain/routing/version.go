package routing

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// NoVersion is how a split names the instances whose metadata carries no
// version: they form a group of their own.
const NoVersion = "none"

// MaxWeight bounds one version's weight in a split.
const MaxWeight = 10000

// Weight is one version's share of a service's traffic. Version "" is the
// group of instances without a version (written NoVersion).
type Weight struct {
	Version string
	Weight  int
}

// Split shares a service's traffic among its versions (metadata.version)
// in proportion to their weights, among instances that are healthy and in
// rotation. A version with no such instance gets nothing, and its share
// goes to the others in proportion; versions the split does not list get
// traffic only when no listed version has an instance left (or a request
// pins them), so a version that appears in the registry takes no share
// until it is given one. The zero Split is no split: round robin over
// every instance, whatever its version.
type Split []Weight

// ParseSplit reads "1.0.0:90,1.1.0:10": comma-separated version:weight
// pairs, weights whole numbers from 0 to MaxWeight, at least one above
// zero, each version once; "none" names the instances without a version.
// The weight is after the last colon, so a version may contain colons.
func ParseSplit(s string) (Split, error) {
	var out Split
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		at := strings.LastIndexByte(entry, ':')
		if at < 0 {
			return nil, fmt.Errorf("routing: split entry %d (%q) must be version:weight", i+1, entry)
		}
		version := strings.TrimSpace(entry[:at])
		w, err := strconv.Atoi(strings.TrimSpace(entry[at+1:]))
		if err != nil || w < 0 || w > MaxWeight {
			return nil, fmt.Errorf("routing: split entry %d (%q): the weight must be a whole number from 0 to %d", i+1, entry, MaxWeight)
		}
		if version == NoVersion {
			version = ""
		} else if version == "" {
			return nil, fmt.Errorf("routing: split entry %d (%q): the version is empty (write %q for instances without one)", i+1, entry, NoVersion)
		}
		out = append(out, Weight{Version: version, Weight: w})
	}
	return out, out.Validate()
}

// Validate says what is wrong with a split: a version listed twice, a
// weight out of range, or no weight above zero.
func (s Split) Validate() error {
	if len(s) == 0 {
		return nil
	}
	seen := map[string]bool{}
	total := 0
	for _, w := range s {
		if seen[w.Version] {
			return fmt.Errorf("routing: split lists version %q twice", nameOf(w.Version))
		}
		seen[w.Version] = true
		if w.Weight < 0 || w.Weight > MaxWeight {
			return fmt.Errorf("routing: split weight of %q must be from 0 to %d (got %d)", nameOf(w.Version), MaxWeight, w.Weight)
		}
		total += w.Weight
	}
	if total == 0 {
		return errors.New("routing: a split needs at least one weight above 0")
	}
	return nil
}

// String writes the split back in ParseSplit's form.
func (s Split) String() string {
	parts := make([]string, len(s))
	for i, w := range s {
		parts[i] = nameOf(w.Version) + ":" + strconv.Itoa(w.Weight)
	}
	return strings.Join(parts, ",")
}

func nameOf(version string) string {
	if version == "" {
		return NoVersion
	}
	return version
}

// group is the instances of one version within a route.
type group struct {
	version string
	weight  int // from the split; 0 when the split does not list it
	slot    int // the version's position in the split (its weight state)
	all     []*Target
	healthy []*Target
	next    atomic.Uint64 // round robin inside the group
}

// available reports whether the group has a target a first choice may go
// to: healthy, in rotation and not tried yet.
func (g *group) available(tried []*Target, c *lazyNow) bool {
	for _, t := range g.healthy {
		if !contains(tried, t) && !c.ejected(t) {
			return true
		}
	}
	return false
}

// group groups the route's targets by version and lists the split's
// groups that have instances, in the split's order.
func (rt *Route) group(split Split) {
	rt.versions = make(map[string]*group, 2)
	for _, t := range rt.all {
		g := rt.versions[t.Version]
		if g == nil {
			g = &group{version: t.Version}
			rt.versions[t.Version] = g
		}
		g.all = append(g.all, t)
		if t.healthy {
			g.healthy = append(g.healthy, t)
		}
	}
	for i, w := range split {
		if g := rt.versions[w.Version]; g != nil && w.Weight > 0 {
			g.weight, g.slot = w.Weight, i
			rt.split = append(rt.split, g)
		}
	}
}

// weights is a service's smooth weighted round robin state (nginx's): each
// choice adds every available group's weight to its current value, takes
// the largest, and subtracts the total from it. Over any run of picks with
// the same groups available the split is exact to within one pick (90/10
// gives nine of one, then one of the other, in every ten), and a group
// that becomes unavailable simply stops taking part, so its share goes to
// the others in proportion. It lives with the service, not the route, so a
// refresh keeps the rotation's phase.
type weights struct {
	mu      sync.Mutex
	current []int // by split slot
}

// choose picks the next group among groups (the route's split) that has a
// target available; nil when none has.
func (w *weights) choose(groups []*group, tried []*Target, c *lazyNow) *group {
	w.mu.Lock()
	defer w.mu.Unlock()
	var best *group
	total := 0
	for _, g := range groups {
		if !g.available(tried, c) {
			continue
		}
		w.current[g.slot] += g.weight
		total += g.weight
		if best == nil || w.current[g.slot] > w.current[best.slot] {
			best = g
		}
	}
	if best != nil {
		w.current[best.slot] -= total
	}
	return best
}

// HasVersion reports whether the route lists an instance of version,
// healthy or not: what a request pinning it needs to be routed at all.
func (rt *Route) HasVersion(version string) bool {
	g := rt.versions[version]
	return g != nil && len(g.all) > 0
}

// PickVersion is Pick restricted to the instances of one version, for a
// request that pins it (A/B tests): round robin among them with the same
// preferences as Pick, and nil when every one was tried or the route has
// none (HasVersion). The split does not apply to pinned requests.
func (rt *Route) PickVersion(version string, tried []*Target) *Target {
	g := rt.versions[version]
	if g == nil {
		return nil
	}
	c := lazyNow{clock: rt.svc.router.clock}
	return prefer(g.healthy, g.all, g.next.Add(1)-1, tried, &c)
}
