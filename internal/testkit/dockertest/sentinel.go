package dockertest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/testcontainers/testcontainers-go"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/vertice/vertice/internal/testkit/images"
	"github.com/vertice/vertice/internal/testkit/poll"
)

// Sentinel set defaults: one master, one replica, three Sentinels with a
// quorum of two, as deploy/compose/service-registry.yml has.
const (
	MasterName     = "mymaster"
	MasterAlias    = "redis-master"
	ReplicaAlias   = "redis-replica"
	sentinelPrefix = "sentinel-"
	sentinelCount  = 3
)

// SentinelSet is a master, a replica and three Sentinels on their own
// Docker network, everything terminated when the test ends. Sentinels
// report hostnames (announce-hostnames), so a registry container on the
// same network reaches whichever node is master; a client on this machine
// can talk to the Sentinels through their mapped ports but not follow
// them to a master, which is why failover tests run the registry inside
// the network.
type SentinelSet struct {
	Network   *testcontainers.DockerNetwork
	Master    *Redis
	Replica   *Redis
	Sentinels []*testcontainers.DockerContainer
}

// sentinelConf is each Sentinel's starting config. Sentinel rewrites its
// file, so every container gets its own copy in the writable DataDir. Short
// timeouts make a failover take seconds, not minutes.
func sentinelConf() string {
	return strings.Join([]string{
		"port 26379",
		"protected-mode no",
		"sentinel resolve-hostnames yes",
		"sentinel announce-hostnames yes",
		fmt.Sprintf("sentinel monitor %s %s 6379 2", MasterName, MasterAlias),
		fmt.Sprintf("sentinel down-after-milliseconds %s 1000", MasterName),
		fmt.Sprintf("sentinel failover-timeout %s 3000", MasterName),
		fmt.Sprintf("sentinel parallel-syncs %s 1", MasterName),
	}, "\n") + "\n"
}

// StartSentinelSet starts the set and returns once every Sentinel monitors
// the master (the discovery of replica and peers takes a few more seconds;
// poll SENTINEL MASTER if a test needs it).
func StartSentinelSet(tb testing.TB) *SentinelSet {
	tb.Helper()
	image := RedisImage(tb)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	nw, err := tcnetwork.New(ctx)
	testcontainers.CleanupNetwork(tb, nw)
	if err != nil {
		tb.Fatalf("sentinel network: %v", err)
	}
	set := &SentinelSet{Network: nw}
	// Each node announces its alias, so after a failover the Sentinels
	// still name the new master by a hostname the network resolves.
	set.Master = StartRedis(tb, tcnetwork.WithNetwork([]string{MasterAlias}, nw),
		testcontainers.WithCmd(RedisArgs("--replica-announce-ip", MasterAlias)...))
	set.Replica = StartRedis(tb, tcnetwork.WithNetwork([]string{ReplicaAlias}, nw),
		testcontainers.WithCmd(RedisArgs("--replica-announce-ip", ReplicaAlias,
			"--replicaof", MasterAlias, "6379")...))
	for i := 1; i <= sentinelCount; i++ {
		set.Sentinels = append(set.Sentinels, startSentinel(ctx, tb, image, nw, fmt.Sprintf("%s%d", sentinelPrefix, i)))
	}
	return set
}

func startSentinel(ctx context.Context, tb testing.TB, image string, nw *testcontainers.DockerNetwork, alias string) *testcontainers.DockerContainer {
	tb.Helper()
	conf := images.DataDir + "/sentinel.conf"
	ctr, err := testcontainers.Run(ctx, image,
		tcnetwork.WithNetwork([]string{alias}, nw),
		testcontainers.WithFiles(testcontainers.ContainerFile{
			Reader: strings.NewReader(sentinelConf()), ContainerFilePath: conf, FileMode: 0o666,
		}),
		testcontainers.WithCmd(images.RedisServerPath, conf, "--sentinel"),
		testcontainers.WithExposedPorts(SentinelPort),
		testcontainers.WithWaitStrategy(wait.ForAll(
			wait.ForLog("+monitor master "+MasterName),
			wait.ForListeningPort(SentinelPort).SkipInternalCheck(),
		).WithStartupTimeoutDefault(startTimeout)),
	)
	testcontainers.CleanupContainer(tb, ctr)
	if err != nil {
		tb.Fatalf("start %s: %v", alias, err)
	}
	return ctr
}

// WaitReady waits, up to 30 s, until the first Sentinel names the master
// by its alias and knows the replica and the two other Sentinels: a
// failover needs all of them.
func (s *SentinelSet) WaitReady(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	addrs, err := s.HostSentinelAddrs(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	c := redis.NewSentinelClient(&redis.Options{Addr: addrs[0]})
	defer c.Close()
	poll.Eventually(tb, 30*time.Second, "sentinels see the master, the replica and two peers", func() error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		master, err := c.GetMasterAddrByName(ctx, MasterName).Result()
		if err != nil || len(master) != 2 || master[0] != MasterAlias {
			return fmt.Errorf("master address %v, %v; want %s", master, err, MasterAlias)
		}
		info, err := c.Master(ctx, MasterName).Result()
		if err != nil {
			return err
		}
		if info["num-slaves"] != "1" || info["num-other-sentinels"] != "2" {
			return fmt.Errorf("num-slaves=%s num-other-sentinels=%s", info["num-slaves"], info["num-other-sentinels"])
		}
		return nil
	})
}

// NetworkSentinelAddrs are the Sentinels' addresses inside the set's
// network: REDIS_SENTINEL_ADDRS for a registry container attached to it.
func (s *SentinelSet) NetworkSentinelAddrs() []string {
	addrs := make([]string, len(s.Sentinels))
	for i := range s.Sentinels {
		addrs[i] = fmt.Sprintf("%s%d:26379", sentinelPrefix, i+1)
	}
	return addrs
}

// HostSentinelAddrs are the Sentinels' mapped ports on this machine, for
// asking them questions (SENTINEL MASTER) from a test.
func (s *SentinelSet) HostSentinelAddrs(ctx context.Context) ([]string, error) {
	addrs := make([]string, 0, len(s.Sentinels))
	for _, c := range s.Sentinels {
		a, err := c.PortEndpoint(ctx, SentinelPort, "")
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, a)
	}
	return addrs, nil
}
