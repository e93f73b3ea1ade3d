// Package exampletest runs kelp's example programs in their tests. Each
// example has a run(ctx, url, out) function that main calls; a test hands
// it to [Check] with the output it must print.
//
// It starts no goroutines itself; the examples' tests check for leaked
// ones with goleak.
package exampletest

import (
	"context"
	"io"
	"strings"
	"testing"
)

// URL is the broker the examples run on in tests: a process-wide memory
// broker, which each example's test binary has to itself.
const URL = "memory://example"

// Check calls run on [URL], bounded by the test's ctx, and fails t unless
// run returned nil after printing exactly want.
func Check(t *testing.T, run func(ctx context.Context, url string, out io.Writer) error, want string) {
	t.Helper()
	var out strings.Builder
	if err := run(t.Context(), URL, &out); err != nil {
		t.Fatalf("run: %v\noutput so far:\n%s", err, out.String())
	}
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}
