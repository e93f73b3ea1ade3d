package main

import (
	"testing"

	"github.com/kelpmq/kelp/examples/internal/exampletest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	exampletest.Check(t, run, `ping: alpha@host1 beta@host1 gamma@host2
add_jobs: beta@host1=map[jobs:5]
stats of *@host1: alpha@host1=map[jobs:0] beta@host1=map[jobs:5]
reboot: gamma@host2!pidbox: unknown method "reboot"
gamma@host2 left
`)
}
