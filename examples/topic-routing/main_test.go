package main

import (
	"testing"

	"github.com/kelpmq/kelp/examples/internal/exampletest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	exampletest.Check(t, run, `publish to audit: returned=true
logs.errors "*.error" got db.error, web.error
logs.db     "db.#"    got db.error, db.slow.query
logs.all    "#"       got db.error, web.error, db.slow.query, web.info
`)
}
