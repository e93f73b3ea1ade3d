package benchmarks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// Python is the interpreter that runs the Kombu peer: Debian's, which
// has Kombu 5.2.
const Python = "/usr/bin/python3"

// kombuScript is the peer's program, next to this file.
func kombuScript() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", "kombu_bench.py")
}

// workloadRunner is a Session that runs whole workloads itself, in
// another process, instead of through the harness's primitives.
type workloadRunner interface {
	runWorkload(ctx context.Context, queue string, w Workload, r *Result) error
}

// Kombu is Python Kombu 5.2 ([Python]) on transport ("amqp" or "redis"),
// run by testdata/kombu_bench.py: one publisher (Kombu's connections are
// not shared between threads), and consume with per-message ack. The
// queue is made and filled by base, the raw baseline of that transport.
// Allocation figures do not apply to it.
func Kombu(transport, url string, base Target) Target {
	return Target{Impl: "kombu", Transport: transport, Open: func(ctx context.Context) (Session, error) {
		s, err := base.Open(ctx)
		if err != nil {
			return nil, err
		}
		return &kombuSession{Session: s, url: url}, nil
	}}
}

// kombuSession runs the peer for publish and consume workloads; the
// embedded base session makes, fills and deletes the queues.
type kombuSession struct {
	Session
	url string
}

// Publisher implements Session: the peer publishes from its own process.
func (s *kombuSession) Publisher(ctx context.Context, queue string, confirm bool) (Publisher, error) {
	return nil, ErrUnsupported
}

// Consume implements Session: the peer consumes from its own process.
func (s *kombuSession) Consume(ctx context.Context, queue string, prefetch int, fn func([]byte)) (func(), error) {
	return nil, ErrUnsupported
}

// runWorkload implements workloadRunner.
func (s *kombuSession) runWorkload(ctx context.Context, queue string, w Workload, r *Result) error {
	switch {
	case w.Scenario == ScenarioPublish && w.Publishers <= 1:
	case w.Scenario == ScenarioConsume:
		if err := s.Fill(ctx, queue, w.Messages, make([]byte, w.Size)); err != nil {
			return err
		}
	default:
		return ErrUnsupported
	}
	args, err := json.Marshal(map[string]any{"url": s.url, "queue": queue, "scenario": w.Scenario,
		"messages": w.Messages, "size": w.Size, "prefetch": w.Prefetch, "confirm": w.Confirm})
	if err != nil {
		return err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, Python, kombuScript(), string(args))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("benchmarks: kombu: %w: %s", err, strings.TrimSpace(lastLine(stderr.String())))
	}
	var out struct {
		MsgPerSec float64 `json:"msg_per_sec"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return fmt.Errorf("benchmarks: kombu printed %q: %w", stdout.String(), err)
	}
	r.MsgPerSec = out.MsgPerSec
	return nil
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// KombuVersion returns the Kombu version of [Python], or "" when it has
// none.
func KombuVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, Python, "-c", "import kombu; print(kombu.__version__)").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
