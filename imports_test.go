package kelp_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// allowedImports encodes the import rules of DESIGN §2: for each kelp
// package (by prefix, most specific first), the kelp packages it may import.
// A package not listed here fails the test, so a new package must state its
// place in the layering.
var allowedImports = []struct {
	pkg     string
	mayUse  []string
	subtree bool
}{
	{pkg: "route"},
	{pkg: "codec"},
	{pkg: "mux"},
	{pkg: "internal/actor"},
	{pkg: "internal/benchcmp"},
	{pkg: "transports", mayUse: []string{"route"}},
	{pkg: "transports/transporttest", mayUse: []string{"transports", "route"}},
	{pkg: "transports/virtual", mayUse: []string{"transports", "route", "internal/actor"}},
	{pkg: "transports/all", mayUse: []string{"transports/*", "transports", "route", "internal/actor"}},
	{pkg: "transports/", mayUse: []string{"transports", "transports/virtual", "route", "internal/actor"}, subtree: true},
	{pkg: "conn", mayUse: []string{"transports", "route", "codec", "internal/actor", "mux"}},
	{pkg: "simple", mayUse: toolkitA},
	{pkg: "pool", mayUse: toolkitA},
	{pkg: "broadcast", mayUse: toolkitA},
	{pkg: "compat/carrot", mayUse: toolkitA},
	{pkg: "rpc", mayUse: []string{"conn", "route", "codec", "transports", "mux"}},
	{pkg: "pidbox", mayUse: []string{"conn", "route", "codec", "transports", "mux"}},
	{pkg: "fuzz", mayUse: []string{"*"}},
	{pkg: "integration", mayUse: []string{"*"}},
	{pkg: "internal/brokertest", mayUse: []string{"*"}},
	{pkg: "internal/redisproc"}, // test support: private redis-server processes
	{pkg: "cmd/", mayUse: []string{"*"}, subtree: true},
	{pkg: "examples/", mayUse: []string{"*"}, subtree: true},
	{pkg: "", mayUse: nil}, // the root package: documentation only
}

// toolkitA is what Kombu's toolkit packages above conn (simple, pool,
// broadcast, compat/carrot) may import: never a concrete driver.
var toolkitA = []string{"conn", "route", "codec", "transports", "mux"}

const module = "github.com/kelpmq/kelp"

func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		pkg := rel(fields[0])
		rule, ok := ruleFor(pkg)
		if !ok {
			t.Errorf("package %q has no import rule in imports_test.go: add it", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			dep := rel(imp)
			if !allowed(rule, dep) {
				t.Errorf("%s imports %s, which DESIGN §2 forbids (allowed: %v)", pkg, dep, rule)
			}
		}
	}
}

func rel(importPath string) string {
	return strings.TrimPrefix(strings.TrimPrefix(importPath, module), "/")
}

func ruleFor(pkg string) ([]string, bool) {
	for _, r := range allowedImports {
		if pkg == r.pkg || (r.subtree && strings.HasPrefix(pkg, r.pkg)) {
			return r.mayUse, true
		}
	}
	return nil, false
}

func allowed(rule []string, dep string) bool {
	for _, a := range rule {
		switch {
		case a == "*", a == dep:
			return true
		case strings.HasSuffix(a, "/*") && strings.HasPrefix(dep, strings.TrimSuffix(a, "*")):
			return true
		}
	}
	return false
}
