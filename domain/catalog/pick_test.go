package catalog

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"
)

// TestSortPreferredMatchesLessOrder checks the comparison sort against the
// rule written as a less function under sort.SliceStable.
func TestSortPreferredMatchesLessOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := time.Unix(1761310133, 0)
	for n := range 300 {
		list := make([]Instance, n%9)
		for i := range list {
			list[i].InstanceID = fmt.Sprint(rng.IntN(4))
			list[i].LastHeartbeat = base.Add(time.Duration(rng.IntN(3)) * time.Second)
			if rng.IntN(2) == 0 {
				list[i].Metadata = map[string]string{StatusKey: StatusUnhealthy}
			}
			list[i].Endpoint = fmt.Sprint(i) // tells equal-ranked instances apart
		}
		want := slices.Clone(list)
		sort.SliceStable(want, func(a, b int) bool {
			x, y := want[a], want[b]
			if x.Healthy() != y.Healthy() {
				return x.Healthy()
			}
			if !x.LastHeartbeat.Equal(y.LastHeartbeat) {
				return x.LastHeartbeat.After(y.LastHeartbeat)
			}
			return x.InstanceID < y.InstanceID
		})
		SortPreferred(list)
		for i := range list {
			if list[i].Endpoint != want[i].Endpoint {
				t.Fatalf("case %d: order differs at %d", n, i)
			}
		}
	}
}
