package main

import (
	"testing"

	"github.com/kelpmq/kelp/examples/internal/exampletest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	exampletest.Check(t, run, "email 3\npush  1\nsms   2\nnothing for 200ms: done\n")
}
