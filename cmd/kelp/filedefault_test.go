package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTwoProcessesOverFile runs "kelp consume" and "kelp publish" as two
// processes that share a directory and no broker, once with an explicit
// file:// URL and once with the default (no --url, no KELP_URL).
func TestTwoProcessesOverFile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the command")
	}
	bin := buildKelp(t)
	for _, tc := range []struct {
		name string
		url  bool
	}{{"explicit url", true}, {"default", false}} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			store := filepath.Join(root, "kelp", "queues") // the default under XDG_CACHE_HOME=root
			var urlArgs []string
			if tc.url {
				store = filepath.Join(root, "explicit")
				urlArgs = []string{"--url", "file://" + filepath.ToSlash(store)}
			}
			env := append(os.Environ(), envURL+"=", "XDG_CACHE_HOME="+root)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			var out, errb bytes.Buffer
			consume := exec.CommandContext(ctx, bin, append([]string{"consume", "--queue", "q", "--count", "3", "--format", "body"}, urlArgs...)...)
			consume.Env, consume.Stdout, consume.Stderr = env, &out, &errb
			if err := consume.Start(); err != nil {
				t.Fatal(err)
			}
			// The consumer declares the queue; publish once it exists (the
			// default exchange drops messages for an unknown queue).
			tick := time.NewTicker(10 * time.Millisecond) // another process: no signal to wait on
			defer tick.Stop()
			for {
				if _, err := os.Stat(filepath.Join(store, "queues", "q", "options.json")); err == nil {
					break
				}
				select {
				case <-ctx.Done():
					t.Fatalf("the consumer never declared its queue; stderr: %s", errb.String())
				case <-tick.C:
				}
			}
			publish := exec.CommandContext(ctx, bin, append([]string{"publish", "--routing-key", "q", "--serializer", "text", "-"}, urlArgs...)...)
			publish.Env, publish.Stdin = env, strings.NewReader("one\ntwo\nthree\n")
			if b, err := publish.CombinedOutput(); err != nil {
				t.Fatalf("kelp publish: %v: %s", err, b)
			}
			if err := consume.Wait(); err != nil {
				t.Fatalf("kelp consume: %v: %s", err, errb.String())
			}
			if got := out.String(); got != "one\ntwo\nthree\n" {
				t.Errorf("consumer printed %q", got)
			}
		})
	}
}

// TestFileDefaultNeedsACacheDir checks that publish without a URL and
// without a user cache directory fails with a usage error that says what
// to do.
func TestFileDefaultNeedsACacheDir(t *testing.T) {
	t.Setenv(envURL, "")
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "")
	r := kelp(t, "", "publish", "1")
	r.wantFailure(t, exitUsage, "no broker URL, and no user cache directory for the file:// default")
}

// TestFileDefaultIsDocumented checks the help texts name the default.
func TestFileDefaultIsDocumented(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"help", "publish"}, {"help", "consume"}} {
		r := kelp(t, "", args...)
		if !strings.Contains(r.stdout+r.stderr, "file://<user cache dir>/kelp/queues") {
			t.Errorf("kelp %s does not mention the file:// default:\n%s%s", strings.Join(args, " "), r.stdout, r.stderr)
		}
	}
}
