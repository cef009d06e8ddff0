package catalog

import (
	"slices"
	"time"
)

// SortPreferred orders instances best first: healthy before unhealthy, then
// the most recently renewed, then by instance ID so the order is stable.
// The v1 API's single-object answer is the first one.
//
// It is a stable sort with a comparison (no reflection, no allocation);
// a list of one, a lookup's usual answer, is left as it is.
func SortPreferred(list []Instance) {
	if len(list) < 2 {
		return
	}
	slices.SortStableFunc(list, comparePreferred)
}

func comparePreferred(x, y Instance) int {
	if hx, hy := x.Healthy(), y.Healthy(); hx != hy {
		if hx {
			return -1
		}
		return 1
	}
	if c := y.LastHeartbeat.Compare(x.LastHeartbeat); c != 0 {
		return c // the most recent first
	}
	switch {
	case x.InstanceID < y.InstanceID:
		return -1
	case x.InstanceID > y.InstanceID:
		return 1
	}
	return 0
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
