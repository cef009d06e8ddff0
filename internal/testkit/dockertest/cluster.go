package dockertest

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/redis/go-redis/v9"
	"github.com/testcontainers/testcontainers-go"

	"github.com/vertice/vertice/internal/testkit/freeport"
)

// StartRedisCluster starts a one-node Redis Cluster owning all 16384 slots
// and returns the address a client on this machine. One node is
// enough to prove a client's keys respect slots: Redis refuses
// multi-key commands and scripts across slots (CROSSSLOT) even then.
//
// A Cluster tells clients where slots live by the address each node
// announces, so the node announces 127.0.0.1 and a host port fixed before
// it starts (a Docker-assigned port is only known afterwards). That port
// was free a moment ago; if another process takes it first, the start
// fails loudly rather than flakily.
func StartRedisCluster(tb testing.TB) string {
	tb.Helper()
	port := freeport.MustPort(tb)
	r := StartRedis(tb,
		testcontainers.WithCmd(RedisArgs(
			"--cluster-enabled", "yes",
			"--cluster-config-file", "/data/nodes.conf",
			"--cluster-announce-ip", "127.0.0.1",
			"--cluster-announce-port", strconv.Itoa(port),
		)...),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = network.PortMap{network.MustParsePort(RedisPort): {{
				HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: strconv.Itoa(port),
			}}}
		}),
	)
	addr := r.MustAddr(tb)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := assignAllSlots(ctx, addr); err != nil {
		tb.Fatalf("redis cluster: %v", err)
	}
	return addr
}

// assignAllSlots gives the node every slot and waits, bounded by ctx, until
// it reports cluster_state:ok.
func assignAllSlots(ctx context.Context, addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		return err
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		info, err := c.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
