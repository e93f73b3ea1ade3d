package main

import (
	"testing"

	"github.com/kelpmq/kelp/examples/internal/exampletest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	exampletest.Check(t, run, `not a job              redelivered=false failed: malformed job
{"n":-1}               redelivered=false failed: job -1: negative input
{"n":-1}               redelivered=true  failed: job -1: negative input
{"n":13}               redelivered=false failed: job 13: dependency unavailable
{"n":13}               redelivered=true  ok
{"n":1}                redelivered=false ok
{"n":2}                redelivered=false ok
{"n":3}                redelivered=false ok
dead-lettered: not a job
dead-lettered: {"n":-1}
`)
}
