package redisproc_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/kelpmq/kelp/internal/redisproc"
)

func ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestRestartKeepsAppendOnlyData proves that a server started with an
// append-only file keeps what it acknowledged across SIGTERM and SIGKILL
// and comes back on the same port, and that one without forgets it.
func TestRestartKeepsAppendOnlyData(t *testing.T) {
	for _, aof := range []bool{true, false} {
		t.Run(fmt.Sprintf("appendonly=%v", aof), func(t *testing.T) {
			ctx := ctx(t)
			s := redisproc.Start(t, redisproc.Options{AppendOnly: aof})
			c := s.Client()
			defer c.Close()
			if err := c.Set(ctx, "k", "v1", 0).Err(); err != nil {
				t.Fatal(err)
			}
			addr := s.Addr()
			s.Restart()
			if s.Addr() != addr {
				t.Fatalf("address moved from %s to %s", addr, s.Addr())
			}
			check := func(want string) {
				t.Helper()
				got, err := c.Get(ctx, "k").Result()
				if errors.Is(err, goredis.Nil) {
					got, err = "", nil
				}
				if err != nil || got != want {
					t.Fatalf("GET k = %q, %v; want %q", got, err, want)
				}
			}
			if aof {
				check("v1")
			} else {
				check("")
			}
			if err := c.Set(ctx, "k", "v2", 0).Err(); err != nil {
				t.Fatal(err)
			}
			s.Kill()
			if s.Running() {
				t.Fatal("running after Kill")
			}
			if err := c.Ping(ctx).Err(); err == nil {
				t.Fatal("PING answered after Kill")
			}
			s.Start()
			if aof {
				check("v2")
			} else {
				check("")
			}
		})
	}
}

func TestPassword(t *testing.T) {
	ctx := ctx(t)
	s := redisproc.Start(t, redisproc.Options{Password: "s3cret"})
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr(), DisableIdentity: true})
	defer c.Close()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING without the password answered")
	}
	opt, err := goredis.ParseURL(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	opt.DisableIdentity = true
	c2 := goredis.NewClient(opt)
	defer c2.Close()
	if err := c2.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
}

// TestSentinelFailover starts a master, a replica and a Sentinel, makes
// the Sentinel fail over, and checks that a failover client follows.
func TestSentinelFailover(t *testing.T) {
	ctx := ctx(t)
	master := redisproc.Start(t, redisproc.Options{})
	replica := redisproc.StartReplica(t, master, redisproc.Options{})
	sn := redisproc.StartSentinel(t, master, redisproc.SentinelOptions{})
	if got := sn.MasterAddr(ctx); got != master.Addr() {
		t.Fatalf("master is %s, want %s", got, master.Addr())
	}
	fc := goredis.NewFailoverClient(&goredis.FailoverOptions{MasterName: sn.MasterName,
		SentinelAddrs: []string{sn.Addr()}, DisableIdentity: true})
	defer fc.Close()
	if err := fc.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got := sn.Failover(ctx); got != replica.Addr() {
		t.Fatalf("new master is %s, want the replica %s", got, replica.Addr())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := fc.Get(ctx, "k").Result()
		if err == nil && got == "v" {
			if err = fc.Set(ctx, "k2", "v", 0).Err(); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("failover client after the failover: %q, %v", got, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCluster starts a 3-node cluster and checks that a cluster client
// reaches keys in every node's slots, and that keys sharing a hash tag
// can be used by one multi-key command.
func TestCluster(t *testing.T) {
	ctx := ctx(t)
	cl := redisproc.StartCluster(t, 3, redisproc.Options{})
	cc := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: cl.Addrs(), DisableIdentity: true})
	defer cc.Close()
	nodes := map[string]bool{}
	for i := range 30 {
		k := fmt.Sprintf("key%d", i)
		if err := cc.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatal(err)
		}
		slot, err := cc.ClusterKeySlot(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		nodes[fmt.Sprint(slot*3/16384)] = true
	}
	if len(nodes) != 3 {
		t.Fatalf("30 keys landed on %d nodes' ranges, want 3", len(nodes))
	}
	if err := cc.MSet(ctx, "{t}a", 1, "{t}b", 2).Err(); err != nil {
		t.Fatalf("MSET on one hash tag: %v", err)
	}
	if err := cc.Do(ctx, "MSET", "a", 1, "b", 2).Err(); err == nil {
		t.Fatal("MSET across slots succeeded")
	}
	for _, n := range cl.Nodes {
		if !n.Running() {
			t.Fatalf("%s not running", n.Addr())
		}
	}
	// A node restarted with its nodes.conf rejoins.
	cl.Nodes[1].Restart()
	cl.WaitOK(ctx)
}

func TestPauseResume(t *testing.T) {
	ctx := ctx(t)
	s := redisproc.Start(t, redisproc.Options{})
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr(), DisableIdentity: true, ReadTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	s.Pause()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("a paused server answered PING")
	}
	s.Resume()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("after Resume: %v", err)
	}
}
