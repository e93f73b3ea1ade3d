package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// binary is the kelp command built once for the tests that exec it.
var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// buildKelp builds the command (without -race: it runs as a separate
// process) and returns the path of the executable.
func buildKelp(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		binary.dir, binary.err = os.MkdirTemp("", "kelp-cmd-test-")
		if binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "kelp")
		out, err := exec.Command("go", "build", "-o", binary.path, ".").CombinedOutput()
		if err != nil {
			binary.err = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// removeBinary deletes what buildKelp built; TestMain calls it.
func removeBinary() {
	if binary.dir != "" {
		_ = os.RemoveAll(binary.dir)
	}
}

// execKelp runs the built command as a process, bounded by a minute so a
// hang fails the test instead of the whole run.
func execKelp(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return execKelpURL(t, "", stdin, args...)
}

// execKelpURL is execKelp with KELP_URL set to url in the process's
// environment.
func execKelpURL(t *testing.T, url, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, buildKelp(t), args...)
	cmd.Env = append(os.Environ(), envURL+"="+url)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running kelp %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("kelp %s did not finish within a minute", strings.Join(args, " "))
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errb.String()}
}

// TestBinary runs the real executable: the demo (checked against the
// golden file), a usage error, and a broker that refuses connections,
// which must fail fast with one line and no password.
func TestBinary(t *testing.T) {
	t.Run("demo", func(t *testing.T) {
		r := execKelp(t, "", "demo")
		r.wantOK(t)
		checkGolden(t, "demo.golden", r.stdout)
	})
	t.Run("usage error", func(t *testing.T) {
		execKelp(t, "", "publish", "--url", "memory://", "--priority", "-1", "1").
			wantFailure(t, exitUsage, "--priority must be 0 to 255")
	})
	t.Run("refused connection", func(t *testing.T) {
		start := time.Now()
		r := execKelp(t, "", "consume", "--url", refusedURL(t), "--queue", "q")
		r.wantFailure(t, exitFailure, "connection refused")
		if strings.Contains(r.stderr, refusedPassword) {
			t.Errorf("stderr shows the password: %q", r.stderr)
		}
		if d := time.Since(start); d > defaultConnectTimeout {
			t.Errorf("failing took %v, want less than --connect-timeout's default %v", d, defaultConnectTimeout)
		}
	})
}
