package beanstalk_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports/beanstalk"
)

// privateServer is a beanstalkd of the test's own, on a free port, keeping
// its binlog in a directory of the test so that a restart keeps the jobs.
type privateServer struct {
	t    *testing.T
	addr string
	dir  string
	cmd  *exec.Cmd
}

// startPrivateServer starts beanstalkd, skipping the test when it is not
// installed.
func startPrivateServer(t *testing.T) *privateServer {
	t.Helper()
	if _, err := exec.LookPath("beanstalkd"); err != nil {
		t.Skip("beanstalkd is not installed (apt-get install beanstalkd)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	s := &privateServer{t: t, addr: addr, dir: t.TempDir()}
	s.start()
	t.Cleanup(s.kill)
	return s
}

// start runs beanstalkd and waits until it accepts connections.
func (s *privateServer) start() {
	s.t.Helper()
	_, port, _ := net.SplitHostPort(s.addr)
	s.cmd = exec.Command("beanstalkd", "-l", "127.0.0.1", "-p", port, "-b", s.dir)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("beanstalkd on %s did not start: %v", s.addr, err)
		}
		time.Sleep(10 * time.Millisecond) // another process: no signal to wait on
	}
}

// kill stops beanstalkd with SIGKILL, as a crash would.
func (s *privateServer) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// TestReconnectServerRestart kills beanstalkd twice while a producer
// publishes with confirms and a consumer acks through package conn, and
// starts it again on the same port and binlog: every confirmed message
// arrives (duplicates are allowed only after a failure) and the consumer
// resumes by itself.
func TestReconnectServerRestart(t *testing.T) {
	srv := startPrivateServer(t)
	cfg, err := beanstalk.ParseURL("beanstalk://" + srv.addr + "?poll_interval=20ms&dial_timeout=1s")
	if err != nil {
		t.Fatal(err)
	}
	bc, err := beanstalk.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := conn.Open(ctx, bc, conn.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close(context.Background()) }()
	q := route.NewQueue("restart")
	if err := c.Declare(ctx, q); err != nil {
		t.Fatal(err)
	}
	cons, err := c.Consume(ctx, []route.Queue{q}, conn.WithPrefetch(10))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop()
	const total = 300
	var (
		mu        sync.Mutex
		confirmed = make(map[string]bool)
	)
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		p := c.Producer(conn.WithRoutingKey(q.Name),
			conn.WithRetry(conn.RetryPolicy{MaxRetries: -1, IntervalStart: 10 * time.Millisecond, IntervalMax: 200 * time.Millisecond}))
		for i := range total {
			body := "m" + strconv.Itoa(i)
			if err := p.Publish(ctx, []byte(body)); err != nil {
				t.Errorf("publish %s: %v", body, err)
				return
			}
			mu.Lock()
			confirmed[body] = true
			mu.Unlock()
		}
	}()
	got := make(map[string]int)
	restarts := 0
	for len(got) < total {
		d, err := cons.Next(ctx)
		if err != nil {
			mu.Lock()
			t.Fatalf("after %d of %d messages (%d confirmed, %d restarts): %v", len(got), total, len(confirmed), restarts, err)
		}
		got[string(d.Body)]++
		_ = d.Ack(ctx) // an ack lost in a restart means a redelivery
		if (len(got) == total/3 && restarts == 0) || (len(got) == 2*total/3 && restarts == 1) {
			restarts++
			srv.kill()
			srv.start()
		}
	}
	<-pubDone
	for body := range confirmed {
		if got[body] == 0 {
			t.Errorf("confirmed message %s never arrived", body)
		}
	}
	dups := 0
	for _, n := range got {
		dups += n - 1
	}
	t.Log(fmt.Sprintf("%d messages, %d redelivered duplicates, after %d restarts", len(got), dups, restarts))
}
