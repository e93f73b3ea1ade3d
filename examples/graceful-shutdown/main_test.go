package main

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kelpmq/kelp/examples/internal/exampletest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const want = `worker started; stop it with Ctrl-C or SIGTERM
task 1 done
task 2 done
task 3 done
stopping: no new tasks taken, tasks in flight finished
connection closed
`

// lastTask is the line after which the worker has nothing left to do.
const lastTask = "task 3 done\n"

// TestRun cancels run's ctx, as the signal does, once the last task is
// done.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &cancelAfter{line: lastTask, cancel: cancel}
	if err := run(ctx, exampletest.URL, out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

// cancelAfter collects the output and calls cancel once line is written.
type cancelAfter struct {
	mu     sync.Mutex
	b      strings.Builder
	line   string
	cancel context.CancelFunc
}

func (w *cancelAfter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if string(p) == w.line {
		w.cancel()
	}
	return w.b.Write(p)
}

func (w *cancelAfter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestSignal builds the program, runs it, sends SIGINT once the last task
// is done, and checks that it shuts down cleanly with exit code 0.
func TestSignal(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "graceful-shutdown")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(cmd.Environ(), "KELP_URL=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	var got strings.Builder
	for {
		line, err := r.ReadString('\n')
		got.WriteString(line)
		if err != nil {
			t.Fatalf("output ended before %q: %v\n%s%s", lastTask, err, got.String(), stderr.String())
		}
		if line == lastTask {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	got.Write(rest)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v; stderr %q", err, stderr.String())
	}
	if got.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", got.String(), want)
	}
}
