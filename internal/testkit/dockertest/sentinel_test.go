package dockertest

import "testing"

// TestSentinelSetMonitors checks the set is ready for a failover test: each
// Sentinel names the master by its alias and, within a bounded wait, knows
// the replica and the two other Sentinels.
func TestSentinelSetMonitors(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five containers")
	}
	StartSentinelSet(t).WaitReady(t)
}
