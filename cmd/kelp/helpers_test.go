package main

import (
	"bytes"
	"context"
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/kelpmq/kelp/transports/memory"
)

// result is what one run of the command produced.
type result struct {
	code           int
	stdout, stderr string
}

// kelp runs the command in-process with args and stdin.
func kelp(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return kelpCtx(t.Context(), stdin, args...)
}

// kelpCtx is kelp with a ctx of the caller's choosing.
func kelpCtx(ctx context.Context, stdin string, args ...string) result {
	var out, errb bytes.Buffer
	code := run(ctx, args, strings.NewReader(stdin), &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// wantFailure checks that r exited with code and wrote exactly one line on
// stderr containing want, and nothing on stdout.
func (r result) wantFailure(t *testing.T, code int, want string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d (stderr %q)", r.code, code, r.stderr)
	}
	if n := strings.Count(r.stderr, "\n"); n != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr has %d lines, want exactly one: %q", n, r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q does not contain %q", r.stderr, want)
	}
	if r.stdout != "" {
		t.Errorf("stdout %q, want nothing", r.stdout)
	}
}

// wantOK checks that r exited 0 with nothing on stderr.
func (r result) wantOK(t *testing.T) {
	t.Helper()
	if r.code != exitOK || r.stderr != "" {
		t.Fatalf("exit code %d, stderr %q; want 0 and nothing", r.code, r.stderr)
	}
}

var notName = regexp.MustCompile(`[^a-z0-9]+`)

// memBroker returns the URL of a process-wide memory broker of the test's
// own, and the broker, for inspection.
func memBroker(t *testing.T) (string, *memory.Broker) {
	name := strings.Trim(notName.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	return "memory://" + name, memory.Shared(name)
}

// refusedPassword is the password in refusedURL, which must never be shown.
const refusedPassword = "s3cr3t-pw"

// refusedURL returns an AMQP URL, with a password, of a local port where
// nothing listens: the port of a listener the test has just closed.
func refusedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "amqp://guest:" + refusedPassword + "@" + addr + "/"
}
