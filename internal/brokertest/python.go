package brokertest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"testing"
)

// Peer is a Python process of an interop test, started by [StartPeer].
// It belongs to the test that started it.
type Peer struct {
	cmd    *exec.Cmd
	out    *bufio.Reader
	stderr bytes.Buffer
	waited bool
}

// StartPeer runs script with [Python] and args, bounded by ctx, and waits
// for it to print its first line, "ready"; it fails t, with the script's
// standard error, if the line is anything else. If the test ends before
// [Peer.Wait], the process is killed then.
func StartPeer(t testing.TB, ctx context.Context, script string, args ...string) *Peer {
	t.Helper()
	p := &Peer{cmd: exec.CommandContext(ctx, Python, append([]string{script}, args...)...)}
	p.cmd.Stderr = &p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("brokertest: start %s: %v", script, err)
	}
	t.Cleanup(func() {
		if !p.waited {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	p.out = bufio.NewReader(stdout)
	if line := p.Line(t); line != "ready" {
		t.Fatalf("brokertest: %s said %q, want ready\n%s", script, line, p.stderr.String())
	}
	return p
}

// Line returns the next line the peer prints, without its newline; it
// fails t if the peer ends first.
func (p *Peer) Line(t testing.TB) string {
	t.Helper()
	line, err := p.out.ReadString('\n')
	if err != nil {
		t.Fatalf("brokertest: %s: %v\n%s", p.cmd.Args[1], err, p.stderr.String())
	}
	return line[:len(line)-1]
}

// Wait waits for the peer to exit and returns its error, with its
// standard error.
func (p *Peer) Wait() error {
	p.waited = true
	if err := p.cmd.Wait(); err != nil {
		return fmt.Errorf("%s: %w\n%s", p.cmd.Args[1], err, p.stderr.String())
	}
	return nil
}
