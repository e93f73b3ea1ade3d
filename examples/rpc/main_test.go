package main

import (
	"testing"

	"github.com/kelpmq/kelp/examples/internal/exampletest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	exampletest.Check(t, run, `3 x apple =  90 cents
3 x pear  = 135 cents
3 x plum  =  60 cents
remote error: no such item: "kiwi"
no server: timed out true, no reply true
`)
}
