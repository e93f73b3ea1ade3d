package all_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kelpmq/kelp/transports"
	_ "github.com/kelpmq/kelp/transports/all"
)

// bundled are the schemes of the drivers kelp ships today.
var bundled = []string{"amqp", "amqps", "librabbitmq", "memory", "pyamqp", "redis", "rediss", "redis+socket",
	"postgres", "postgresql", "sqla+postgres", "sqla+postgresql", "mysql", "sqla+mysql", "sqlite", "sqla+sqlite"}

// TestRegistersEveryBundledScheme checks that importing the package (and
// nothing else: this test imports no driver) makes every bundled scheme
// resolvable.
func TestRegistersEveryBundledScheme(t *testing.T) {
	got := transports.Schemes()
	for _, s := range bundled {
		if !slices.Contains(got, s) {
			t.Errorf("scheme %q not registered; registered: %v", s, got)
		}
	}
	for _, u := range []string{"memory://", "memory://all-test", "amqp://guest:guest@localhost:5672//", "amqps://h//", "redis://localhost:6379/0"} {
		if cn, err := transports.OpenConnector(u); err != nil || cn == nil {
			t.Errorf("OpenConnector(%q) = %v, %v", u, cn, err)
		}
	}
}

// TestImportsEveryDriver finds every package under transports/ whose
// non-test code calls transports.Register and checks that package all
// depends on it, so that a new driver cannot be forgotten here.
func TestImportsEveryDriver(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	root := filepath.Join("..")
	drivers := 0
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "all") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !strings.Contains(string(src), "transports.Register(") {
			return nil
		}
		drivers++
		pkg := "github.com/kelpmq/kelp/transports/" + filepath.ToSlash(filepath.Dir(path[len(root)+1:]))
		if !slices.Contains(deps, pkg) {
			t.Errorf("%s registers a driver (%s) but package all does not import it", pkg, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if drivers < 2 {
		t.Fatalf("found %d driver packages under transports/, want at least memory and amqp", drivers)
	}
}
