package filesystem_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/filesystem"
)

// Environment of the subprocesses.
const (
	envChild   = "KELP_FS_CHILD" // "consume" or "publish"
	envDir     = "KELP_FS_DIR"
	killQueue  = "sigkill"
	childReady = "kelp-fs-child-ready"
)

// killConfig is the Config parent and children share: a short lease so
// that the parent restores the claims of killed children quickly.
func killConfig(dir string) filesystem.Config {
	return filesystem.Config{Dir: dir, LeaseTimeout: time.Second, PollInterval: 20 * time.Millisecond}
}

// TestChildProcess is the subprocess of the cross-process tests: with
// KELP_FS_CHILD=consume it consumes killQueue with prefetch 10, recording
// each body as a file in processed/ before acking it, until killed or
// idle; with publish it publishes 100 messages to the topic exchange
// "xp" it never declared, with routing keys a.0 ... a.99.
func TestChildProcess(t *testing.T) {
	dir := os.Getenv(envDir)
	mode := os.Getenv(envChild)
	if mode == "" || dir == "" {
		t.Skip("a subprocess of TestSIGKILLLosesNothing and TestCrossProcessRouting")
	}
	ctx := context.Background()
	c := newConnector(t, killConfig(dir))
	switch mode {
	case "publish":
		ch := channel(t, c, "")
		for i := range 100 {
			p := transports.Publishing{Exchange: "xp", RoutingKey: "a." + strconv.Itoa(i),
				Message: transports.Message{Body: []byte(strconv.Itoa(i)), Properties: transports.Properties{DeliveryMode: route.Persistent}}}
			if _, err := ch.Publish(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
	case "consume":
		ch := channel(t, c, killQueue)
		if err := ch.Qos(ctx, transports.Qos{PrefetchCount: 10}); err != nil {
			t.Fatal(err)
		}
		sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: killQueue})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println(childReady) // the parent kills from now on
		for {
			select {
			case d, ok := <-sub.Deliveries():
				if !ok {
					t.Fatal(sub.Err())
				}
				time.Sleep(2 * time.Millisecond) // some work, so that kills land mid-stream
				if err := os.WriteFile(filepath.Join(dir, "processed", string(d.Body)), nil, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := ch.Ack(ctx, d.Tag, false); err != nil {
					t.Fatal(err)
				}
			case <-time.After(2 * time.Second):
				return // idle: the queue is drained
			}
		}
	}
}

// startChild starts the test binary as a subprocess in mode and returns
// it with a channel that closes when it printed childReady or exited, and
// one that receives its output once it exited.
func startChild(ctx context.Context, t *testing.T, dir, mode string) (*exec.Cmd, <-chan struct{}, <-chan []string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestChildProcess$")
	cmd.Env = append(os.Environ(), envChild+"="+mode, envDir+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	lines := make(chan []string, 1)
	go func() {
		var got []string
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == childReady && !slices.Contains(got, childReady) {
				close(ready)
			}
			got = append(got, sc.Text())
		}
		if !slices.Contains(got, childReady) {
			close(ready)
		}
		lines <- got
	}()
	return cmd, ready, lines
}

// TestSIGKILLLosesNothing kills consumer subprocesses with SIGKILL at
// random instants mid-stream, many times, and then accounts for every
// message: each was processed by a child or is still in the queue or
// claimed by a dead child, from where the lease restore returns it.
func TestSIGKILLLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns subprocesses")
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "processed"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := newConnector(t, killConfig(dir))
	ch := channel(t, c, killQueue)
	const n = 300
	for i := range n {
		p := transports.Publishing{RoutingKey: killQueue, Message: transports.Message{Body: []byte(strconv.Itoa(i))}}
		if _, err := ch.Publish(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	kills := 0
	for ; kills < 15; kills++ {
		cmd, ready, lines := startChild(ctx, t, dir, "consume")
		<-ready
		time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond) // a random instant mid-stream
		_ = cmd.Process.Signal(syscall.SIGKILL)
		got := <-lines
		_ = cmd.Wait()
		if !slices.Contains(got, childReady) {
			t.Fatalf("consumer subprocess never consumed (ctx: %v); its output:\n%s", ctx.Err(), strings.Join(got, "\n"))
		}
		if info, err := ch.QueueDeclare(ctx, route.Queue{Name: killQueue}); err != nil || info.Messages == 0 {
			break
		}
	}
	claimed := filepath.Join(dir, "queues", killQueue, "claimed")
	poll := time.NewTicker(100 * time.Millisecond) // waiting for the dead children's leases to expire
	defer poll.Stop()
	restored := 0
	for {
		left, err := os.ReadDir(claimed)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			break
		}
		r, err := c.RestoreStale(ctx)
		if err != nil {
			t.Fatal(err)
		}
		restored += r
		select {
		case <-ctx.Done():
			t.Fatalf("%d claims never restored", len(left))
		case <-poll.C:
		}
	}
	seen := map[string]bool{}
	redelivered := 0
	for {
		d, ok, err := ch.Get(ctx, killQueue, false)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		seen[string(d.Body)] = true
		if d.Redelivered {
			redelivered++
		}
		if err := ch.Ack(ctx, d.Tag, false); err != nil {
			t.Fatal(err)
		}
	}
	if redelivered < restored {
		t.Errorf("%d restored claims but %d redelivered messages", restored, redelivered)
	}
	done, err := os.ReadDir(filepath.Join(dir, "processed"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range done {
		seen[e.Name()] = true
	}
	for i := range n {
		if !seen[strconv.Itoa(i)] {
			t.Errorf("message %d lost", i)
		}
	}
	t.Logf("%d kills; %d processed by children, %d restored, %d left for the final drain", kills, len(done), restored, len(seen)-len(done))
}

// TestCrossProcessRouting has a subprocess publish to a topic exchange
// that only this process declared and bound: the subprocess routes by the
// exchange and binding files, and every message arrives here.
func TestCrossProcessRouting(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a subprocess")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ch := channel(t, newConnector(t, killConfig(dir)), "xq")
	if err := ch.ExchangeDeclare(ctx, route.Exchange{Name: "xp", Kind: route.Topic}); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(ctx, "xq", "xp", "a.*", nil); err != nil {
		t.Fatal(err)
	}
	cmd, _, lines := startChild(ctx, t, dir, "publish")
	got := <-lines
	if err := cmd.Wait(); err != nil {
		t.Fatalf("publisher subprocess: %v; its output:\n%s", err, strings.Join(got, "\n"))
	}
	sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: "xq", NoAck: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		select {
		case d := <-sub.Deliveries():
			if string(d.Body) != strconv.Itoa(i) || d.RoutingKey != "a."+strconv.Itoa(i) || d.Exchange != "xp" {
				t.Fatalf("delivery %d: body %q, exchange %q, key %q", i, d.Body, d.Exchange, d.RoutingKey)
			}
		case <-ctx.Done():
			t.Fatalf("%d of 100 messages arrived", i)
		}
	}
}
