package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// checkGolden compares got with testdata/name, or rewrites the file with
// -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update to accept):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// TestDemo runs the demo in-process, twice, and checks that each run prints
// exactly the golden output: every run starts from an empty broker of its
// own and the output does not depend on scheduling.
func TestDemo(t *testing.T) {
	for range 2 {
		r := kelp(t, "", "demo")
		r.wantOK(t)
		checkGolden(t, "demo.golden", r.stdout)
	}
}
