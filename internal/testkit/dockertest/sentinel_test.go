package dockertest

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestSentinelSetMonitors checks the set is ready for a failover test: each
// Sentinel names the master by its alias and, within a bounded wait, knows
// the replica and the two other Sentinels.
func TestSentinelSetMonitors(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five containers")
	}
	set := StartSentinelSet(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addrs, err := set.HostSentinelAddrs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := redis.NewSentinelClient(&redis.Options{Addr: addrs[0]})
	defer s.Close()
	master, err := s.GetMasterAddrByName(ctx, MasterName).Result()
	if err != nil || len(master) != 2 || master[0] != MasterAlias {
		t.Fatalf("master addr %v, %v; want %s", master, err, MasterAlias)
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		info, err := s.Master(ctx, MasterName).Result()
		if err == nil && info["num-slaves"] == "1" && info["num-other-sentinels"] == "2" {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("sentinels never saw replica and peers: %v, %v", info, err)
		case <-tick.C:
		}
	}
}
