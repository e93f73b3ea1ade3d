package main

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(t.Context(), "memory://example-worker", &out); err != nil {
		t.Fatal(err)
	}
	const want = `not a job              redelivered=false failed: malformed job
{"n":-1}               redelivered=false failed: job -1: negative input
{"n":-1}               redelivered=true  failed: job -1: negative input
{"n":13}               redelivered=false failed: job 13: dependency unavailable
{"n":13}               redelivered=true  ok
{"n":1}                redelivered=false ok
{"n":2}                redelivered=false ok
{"n":3}                redelivered=false ok
dead-lettered: not a job
dead-lettered: {"n":-1}
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
