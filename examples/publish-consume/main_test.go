package main

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(t.Context(), "memory://example-publish-consume", &out); err != nil {
		t.Fatal(err)
	}
	const want = "hello, world! (application/json from queue greetings)\n"
	if out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}
