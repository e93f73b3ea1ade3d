package redisproc

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// StartReplica starts a server that replicates master and returns once
// its first synchronisation is done (master_link_status:up).
func StartReplica(t testing.TB, master *Server, opts Options) *Server {
	t.Helper()
	if opts.Password == "" {
		opts.Password = master.password
	}
	s := newServer(t, opts, []string{"--replicaof", "127.0.0.1", strconv.Itoa(master.port)})
	s.Start()
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	if err := poll(ctx, func(ctx context.Context) error {
		info, err := info(ctx, s, "replication")
		if err != nil {
			return err
		}
		if info["master_link_status"] != "up" {
			return fmt.Errorf("master_link_status:%s", info["master_link_status"])
		}
		return nil
	}); err != nil {
		t.Fatalf("redisproc: replica %s of %s: %v; log:\n%s", s.Addr(), master.Addr(), err, s.logTail())
	}
	return s
}

// SentinelOptions configures a Sentinel of [StartSentinel].
type SentinelOptions struct {
	// MasterName is the name the master is monitored under. Default
	// "mymaster".
	MasterName string
	// Password, when not empty, is required of the Sentinel's own clients
	// (requirepass in the Sentinel).
	Password string
	// DownAfter is how long the master may not answer before the Sentinel
	// finds it down (down-after-milliseconds). Default 1 s.
	DownAfter time.Duration
}

// Sentinel is a private Sentinel process: a [Server] run with
// --sentinel.
type Sentinel struct {
	*Server
	// MasterName is the name of the monitored master.
	MasterName string
	// masterPassword is the master's requirepass (the Sentinel's auth-pass).
	masterPassword string
}

// StartSentinel starts a Sentinel that monitors master, with quorum 1,
// and returns once it answers and names master's address. A replica that
// should take part in a failover must be running before the Sentinel
// starts (the Sentinel learns of replicas from the master's INFO, which
// it asks at once and then every 10 s).
func StartSentinel(t testing.TB, master *Server, opts SentinelOptions) *Sentinel {
	t.Helper()
	binary(t)
	if opts.MasterName == "" {
		opts.MasterName = "mymaster"
	}
	if opts.DownAfter == 0 {
		opts.DownAfter = time.Second
	}
	s := &Server{t: t, port: FreePort(t), dir: t.TempDir(), password: opts.Password, sentinel: true}
	// Sentinel rewrites its configuration file, so it must be a file of
	// its own, in a writable directory.
	conf := filepath.Join(s.dir, "sentinel.conf")
	lines := []string{
		"port " + strconv.Itoa(s.port),
		"bind 127.0.0.1",
		"dir " + s.dir,
		"logfile " + filepath.Join(s.dir, "redis.log"),
		"daemonize no",
		"sentinel resolve-hostnames no",
		fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 1", opts.MasterName, master.port),
		fmt.Sprintf("sentinel down-after-milliseconds %s %d", opts.MasterName, opts.DownAfter.Milliseconds()),
		fmt.Sprintf("sentinel failover-timeout %s 10000", opts.MasterName),
		fmt.Sprintf("sentinel parallel-syncs %s 1", opts.MasterName),
	}
	if master.password != "" {
		lines = append(lines, fmt.Sprintf("sentinel auth-pass %s %s", opts.MasterName, master.password))
	}
	if opts.Password != "" {
		lines = append(lines, "requirepass "+opts.Password)
	}
	if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatalf("redisproc: writing %s: %v", conf, err)
	}
	s.args = []string{conf}
	t.Cleanup(s.cleanup)
	s.Start()
	sn := &Sentinel{Server: s, MasterName: opts.MasterName, masterPassword: master.password}
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	if err := poll(ctx, func(ctx context.Context) error {
		addr, err := sn.masterAddr(ctx)
		if err == nil && addr != master.Addr() {
			err = fmt.Errorf("master is %s, want %s", addr, master.Addr())
		}
		return err
	}); err != nil {
		t.Fatalf("redisproc: sentinel %s: %v; log:\n%s", s.Addr(), err, s.logTail())
	}
	return sn
}

// SentinelClient returns a go-redis client for the Sentinel's own
// commands, which the caller closes.
func (s *Sentinel) SentinelClient() *goredis.SentinelClient {
	return goredis.NewSentinelClient(&goredis.Options{
		Addr: s.Addr(), Password: s.password, DisableIdentity: true, MaxRetries: -1, DialTimeout: time.Second,
	})
}

// MasterAddr returns the address the Sentinel gives for its master now.
func (s *Sentinel) MasterAddr(ctx context.Context) string {
	s.t.Helper()
	addr, err := s.masterAddr(ctx)
	if err != nil {
		s.t.Fatalf("redisproc: sentinel %s: %v", s.Addr(), err)
	}
	return addr
}

func (s *Sentinel) masterAddr(ctx context.Context) (string, error) {
	c := s.SentinelClient()
	defer c.Close()
	hp, err := c.GetMasterAddrByName(ctx, s.MasterName).Result()
	if err != nil {
		return "", err
	}
	if len(hp) != 2 {
		return "", fmt.Errorf("get-master-addr-by-name gave %v", hp)
	}
	return net.JoinHostPort(hp[0], hp[1]), nil
}

// Failover makes the Sentinel promote a replica (SENTINEL FAILOVER,
// retried while the Sentinel has no replica it finds suitable yet) and
// returns the new master's address once the Sentinel names it and that
// server reports role master. It fails the test after [StartTimeout].
func (s *Sentinel) Failover(ctx context.Context) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	old, err := s.masterAddr(ctx)
	if err != nil {
		s.t.Fatalf("redisproc: sentinel %s: %v", s.Addr(), err)
	}
	c := s.SentinelClient()
	defer c.Close()
	if err := poll(ctx, func(ctx context.Context) error {
		return c.Failover(ctx, s.MasterName).Err()
	}); err != nil {
		s.t.Fatalf("redisproc: sentinel %s: failover: %v; log:\n%s", s.Addr(), err, s.logTail())
	}
	var addr string
	if err := poll(ctx, func(ctx context.Context) error {
		if addr, err = s.masterAddr(ctx); err != nil {
			return err
		}
		if addr == old {
			return fmt.Errorf("master is still %s", old)
		}
		m := goredis.NewClient(&goredis.Options{Addr: addr, Password: s.masterPassword, DisableIdentity: true, MaxRetries: -1})
		defer m.Close()
		role, err := m.Do(ctx, "ROLE").Slice()
		if err != nil {
			return err
		}
		if len(role) == 0 || role[0] != "master" {
			return fmt.Errorf("%s has role %v", addr, role)
		}
		return nil
	}); err != nil {
		s.t.Fatalf("redisproc: sentinel %s: failover: %v; log:\n%s", s.Addr(), err, s.logTail())
	}
	return addr
}

// Cluster is a private Redis Cluster of masters without replicas.
type Cluster struct {
	// Nodes are the cluster's servers, in slot order: node i serves the
	// i-th range of slots.
	Nodes []*Server
}

// StartCluster starts a Redis Cluster of n masters (n >= 3), each with
// its own port, cluster bus port and directory, assigns the 16384 slots
// in n even ranges, joins the nodes (CLUSTER MEET) and returns once every
// node reports cluster_state:ok and knows every other.
func StartCluster(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	if n < 3 {
		t.Fatalf("redisproc: a cluster needs at least 3 masters, not %d", n)
	}
	c := &Cluster{}
	for range n {
		bus := FreePort(t)
		s := newServer(t, opts, []string{
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(bus),
			"--cluster-node-timeout", "2000",
			// A node that lost a peer still serves its own slots, so
			// that a test that stops one node sees the others work.
			"--cluster-require-full-coverage", "no",
		})
		s.Start()
		c.Nodes = append(c.Nodes, s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	const slots = 16384
	for i, s := range c.Nodes {
		lo, hi := i*slots/n, (i+1)*slots/n-1
		// Distinct config epochs up front spare the nodes the collision
		// dance they would otherwise do, all starting at 0.
		s.Do(ctx, "CLUSTER", "SET-CONFIG-EPOCH", i+1)
		s.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", lo, hi)
	}
	first := c.Nodes[0]
	for _, s := range c.Nodes[1:] {
		bus := busPort(s)
		first.Do(ctx, "CLUSTER", "MEET", "127.0.0.1", s.port, bus)
	}
	if err := c.waitOK(ctx); err != nil {
		t.Fatalf("redisproc: cluster: %v; log of the first node:\n%s", err, first.logTail())
	}
	return c
}

// busPort returns the cluster bus port a node was started with.
func busPort(s *Server) int {
	for i, a := range s.args {
		if a == "--cluster-port" && i+1 < len(s.args) {
			p, _ := strconv.Atoi(s.args[i+1])
			return p
		}
	}
	return 0
}

// Addrs returns the nodes' addresses.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		out[i] = s.Addr()
	}
	return out
}

// WaitOK waits, up to [StartTimeout], until every running node reports
// cluster_state:ok and knows every node, and fails the test otherwise.
func (c *Cluster) WaitOK(ctx context.Context) {
	c.Nodes[0].t.Helper()
	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	if err := c.waitOK(ctx); err != nil {
		c.Nodes[0].t.Fatalf("redisproc: cluster: %v", err)
	}
}

func (c *Cluster) waitOK(ctx context.Context) error {
	return poll(ctx, func(ctx context.Context) error {
		for _, s := range c.Nodes {
			if !s.Running() {
				continue
			}
			info, err := clusterInfo(ctx, s)
			if err != nil {
				return err
			}
			if info["cluster_state"] != "ok" || info["cluster_known_nodes"] != strconv.Itoa(len(c.Nodes)) {
				return fmt.Errorf("%s: cluster_state:%s cluster_known_nodes:%s", s.Addr(), info["cluster_state"], info["cluster_known_nodes"])
			}
		}
		return nil
	})
}

// clusterInfo returns the fields of CLUSTER INFO.
func clusterInfo(ctx context.Context, s *Server) (map[string]string, error) {
	c := s.Client()
	defer c.Close()
	txt, err := c.ClusterInfo(ctx).Result()
	if err != nil {
		return nil, err
	}
	return fields(txt), nil
}

// info returns the fields of INFO section.
func info(ctx context.Context, s *Server, section string) (map[string]string, error) {
	c := s.Client()
	defer c.Close()
	txt, err := c.Info(ctx, section).Result()
	if err != nil {
		return nil, err
	}
	return fields(txt), nil
}

// fields parses "key:value" lines.
func fields(txt string) map[string]string {
	m := map[string]string{}
	for line := range strings.SplitSeq(txt, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			m[k] = v
		}
	}
	return m
}

// poll calls f every 50ms until it returns nil or ctx ends, and returns
// f's last error then.
func poll(ctx context.Context, f func(context.Context) error) error {
	for {
		err := f(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}
