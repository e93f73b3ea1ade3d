package main

import (
	"testing"

	"github.com/kelpmq/kelp/examples/internal/exampletest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	exampletest.Check(t, run, "hello, world! (application/json from queue greetings)\n")
}
