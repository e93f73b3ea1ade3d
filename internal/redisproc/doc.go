// Package redisproc runs private redis-server processes for tests: a
// plain server that can be stopped, killed and restarted on the same port,
// a replica, a Sentinel watching a master, and a small Redis Cluster. It is
// test support, imported only by _test.go files, so that tests which must
// restart or reconfigure Redis never touch the shared server on 6379.
//
// # Processes
//
// [Start] starts redis-server on a free loopback port, in a directory of
// the test's own (t.TempDir), with persistence off unless
// [Options.AppendOnly] asks for an append-only file, and returns once the
// server answers PING. [Server.Stop] ends it with SIGTERM (Redis flushes
// its append-only file and exits cleanly), [Server.Kill] with SIGKILL;
// [Server.Start] starts it again on the same port with the same
// directory, so an append-only file is read back; [Server.Restart] is
// Stop then Start. [Server.Pause] and [Server.Resume] (SIGSTOP, SIGCONT)
// make a hung server. [StartReplica] starts a server that replicates another
// one. [StartSentinel] starts a Sentinel that monitors a master under a
// name ("mymaster" by default) with quorum 1. [StartCluster] starts a
// Redis Cluster of n masters (at least 3), assigns the 16384 slots evenly
// and returns once every node reports cluster_state:ok.
//
// # Ownership and bounds
//
// Every process is owned by the test that started it: a t.Cleanup kills
// it with SIGKILL and waits for it, and the process also receives SIGKILL
// when the test binary dies (Linux's parent-death signal), so no server
// outlives its test. Each process has one goroutine that waits for its
// exit; it ends when the process does. Every wait (for PING, for a clean
// exit, for the cluster to become ok) is bounded, by [StartTimeout] or
// [StopTimeout]; a failure fails the test with the tail of the server's
// log file.
//
// # Missing redis-server
//
// When redis-server is not on PATH, the functions skip the test with one
// line, or fail it when KELP_CI=1, as the other integration tests do.
package redisproc
