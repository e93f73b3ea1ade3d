package main

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(t.Context(), "memory://example-topic-routing", &out); err != nil {
		t.Fatal(err)
	}
	const want = `publish to audit: returned=true
logs.errors "*.error" got db.error, web.error
logs.db     "db.#"    got db.error, db.slow.query
logs.all    "#"       got db.error, web.error, db.slow.query, web.info
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
