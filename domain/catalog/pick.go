package catalog

import (
	"sort"
	"time"
)

// SortPreferred orders instances best first: healthy before unhealthy, then
// the most recently renewed, then by instance ID so the order is stable.
// The seed's single-object answer is the first one.
func SortPreferred(list []Instance) {
	sort.SliceStable(list, func(a, b int) bool {
		x, y := list[a], list[b]
		if x.Healthy() != y.Healthy() {
			return x.Healthy()
		}
		if !x.LastHeartbeat.Equal(y.LastHeartbeat) {
			return x.LastHeartbeat.After(y.LastHeartbeat)
		}
		return x.InstanceID < y.InstanceID
	})
}

// Live drops the instances whose lease ended at now.
func Live(list []Instance, now time.Time) []Instance {
	out := list[:0:0]
	for _, in := range list {
		if !in.Expired(now) {
			out = append(out, in)
		}
	}
	return out
}
