package route_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/kelpmq/kelp/route"
)

var allKinds = []route.Kind{route.Direct, route.Topic, route.Fanout, route.Headers}

// routeSorted routes and returns the destinations sorted, failing the test
// when one appears twice.
func routeSorted(t *testing.T, r route.Router, key string, headers route.Table) []string {
	t.Helper()
	got := r.Route(key, headers, nil)
	slices.Sort(got)
	if c := slices.Compact(slices.Clone(got)); len(c) != len(got) {
		t.Fatalf("%s Route(%q, %v) = %v: a destination appears twice", r.Kind(), key, headers, got)
	}
	return got
}

func TestNewRouter(t *testing.T) {
	for _, k := range allKinds {
		r, err := route.NewRouter(k)
		if err != nil {
			t.Fatalf("NewRouter(%q): %v", k, err)
		}
		if r.Kind() != k || r.Len() != 0 {
			t.Errorf("NewRouter(%q) = kind %q, %d bindings", k, r.Kind(), r.Len())
		}
	}
	for _, k := range []route.Kind{"", "x-consistent-hash"} {
		if _, err := route.NewRouter(k); !errors.Is(err, route.ErrUnknownKind) {
			t.Errorf("NewRouter(%q) error = %v, want ErrUnknownKind", k, err)
		}
	}
}

// TestRouterIdentity checks the rules every kind shares: a binding is
// (key, args, dest); binding twice is a no-op; a destination is routed once.
func TestRouterIdentity(t *testing.T) {
	for _, k := range allKinds {
		t.Run(string(k), func(t *testing.T) {
			r, _ := route.NewRouter(k)
			// "k" matches as a direct key and a topic pattern; the headers
			// arguments match the headers routed below.
			args := route.Table{"h": 1}
			headers := route.Table{"h": int64(1)}
			mustBind := func(key string, args route.Table, dest string, want bool) {
				t.Helper()
				added, err := r.Bind(key, args, dest)
				if err != nil || added != want {
					t.Fatalf("Bind(%q, %v, %q) = %v, %v; want %v", key, args, dest, added, err, want)
				}
			}
			mustBind("k", args, "q1", true)
			mustBind("k", args, "q1", false)
			mustBind("k", route.Table{"h": int64(1)}, "q1", false) // equal by value
			mustBind("k", route.Table{"h": 1, "other": "x"}, "q1", true)
			mustBind("k", args, "q2", true)
			if n := r.Len(); n != 3 {
				t.Fatalf("Len() = %d, want 3", n)
			}
			if got := routeSorted(t, r, "k", headers); !slices.Equal(got, []string{"q1", "q2"}) {
				t.Fatalf("Route = %v, want [q1 q2]", got)
			}

			if r.Unbind("k", route.Table{"h": 2}, "q1") {
				t.Error("Unbind of a binding that is not there reported true")
			}
			if !r.Unbind("k", route.Table{"h": 1.0}, "q1") {
				t.Error("Unbind with arguments equal by value reported false")
			}
			if r.Unbind("k", args, "q1") {
				t.Error("second Unbind reported true")
			}
			// q1 still has its other binding.
			if got := routeSorted(t, r, "k", route.Table{"h": 1, "other": "x"}); !slices.Equal(got, []string{"q1", "q2"}) {
				t.Fatalf("Route after Unbind = %v, want [q1 q2]", got)
			}
			if n := r.UnbindDest("q1"); n != 1 {
				t.Errorf("UnbindDest(q1) = %d, want 1", n)
			}
			if n := r.UnbindDest("q1"); n != 0 {
				t.Errorf("second UnbindDest(q1) = %d, want 0", n)
			}
			if got := routeSorted(t, r, "k", headers); !slices.Equal(got, []string{"q2"}) {
				t.Fatalf("Route after UnbindDest = %v, want [q2]", got)
			}
			if !r.Unbind("k", args, "q2") || r.Len() != 0 {
				t.Fatalf("after the last Unbind: Len() = %d", r.Len())
			}
			if got := r.Route("k", headers, nil); len(got) != 0 {
				t.Fatalf("empty router routed to %v", got)
			}
			// The router is usable again after emptying.
			mustBind("k", args, "q3", true)
			if got := routeSorted(t, r, "k", headers); !slices.Equal(got, []string{"q3"}) {
				t.Fatalf("Route after rebinding = %v, want [q3]", got)
			}
		})
	}
}

// Route appends to dst and keeps what was there.
func TestRouteAppends(t *testing.T) {
	for _, k := range allKinds {
		r, _ := route.NewRouter(k)
		if _, err := r.Bind("k", nil, "q"); err != nil {
			t.Fatal(err)
		}
		got := r.Route("k", nil, []string{"before"})
		if !slices.Equal(got, []string{"before", "q"}) {
			t.Errorf("%s: Route appended to [before]: %v", k, got)
		}
	}
}

func TestZeroValueRouters(t *testing.T) {
	routers := []route.Router{&route.DirectRouter{}, &route.TopicRouter{}, &route.FanoutRouter{}, &route.HeadersRouter{}}
	for _, r := range routers {
		if got := r.Route("k", nil, nil); len(got) != 0 {
			t.Errorf("zero %s router routed to %v", r.Kind(), got)
		}
		if r.Unbind("k", nil, "q") || r.UnbindDest("q") != 0 {
			t.Errorf("zero %s router unbound something", r.Kind())
		}
		if added, err := r.Bind("k", nil, "q"); !added || err != nil {
			t.Errorf("zero %s router: Bind = %v, %v", r.Kind(), added, err)
		}
		if got := r.Route("k", nil, nil); !slices.Equal(got, []string{"q"}) {
			t.Errorf("zero %s router after Bind routed to %v", r.Kind(), got)
		}
	}
}

func TestDirectRoute(t *testing.T) {
	r := route.NewDirectRouter()
	for _, b := range []struct{ key, dest string }{
		{"a", "qa"}, {"a", "qa2"}, {"b", "qb"}, {"", "qempty"}, {"a.b", "qab"}, {"*", "qstar"},
	} {
		if _, err := r.Bind(b.key, nil, b.dest); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		key  string
		want []string
	}{
		{"a", []string{"qa", "qa2"}},
		{"b", []string{"qb"}},
		{"", []string{"qempty"}},
		{"a.b", []string{"qab"}},
		{"*", []string{"qstar"}}, // no wildcards on direct exchanges
		{"c", nil},
		{"A", nil},
	}
	for _, tt := range tests {
		if got := routeSorted(t, r, tt.key, nil); !slices.Equal(got, tt.want) {
			t.Errorf("Route(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestFanoutRoute(t *testing.T) {
	r := route.NewFanoutRouter()
	for i, dest := range []string{"q1", "q2", "q3"} {
		if _, err := r.Bind([]string{"", "x", "y.z"}[i], nil, dest); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{"", "anything", "x"} {
		if got := routeSorted(t, r, key, route.Table{"h": 1}); !slices.Equal(got, []string{"q1", "q2", "q3"}) {
			t.Errorf("Route(%q) = %v, want every destination", key, got)
		}
	}
	r.UnbindDest("q2")
	if got := routeSorted(t, r, "", nil); !slices.Equal(got, []string{"q1", "q3"}) {
		t.Errorf("Route after UnbindDest(q2) = %v", got)
	}
}
