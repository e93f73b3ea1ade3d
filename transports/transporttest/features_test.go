package transporttest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

func TestFeaturesDefaults(t *testing.T) {
	f := Features{}.withDefaults()
	if f.MaxMessageSize != defaultMaxMessageSize || f.Timeout != defaultTimeout || f.Quiet != defaultQuiet {
		t.Errorf("zero Features defaults: size %d timeout %v quiet %v", f.MaxMessageSize, f.Timeout, f.Quiet)
	}
	if !slices.Equal(f.ExchangeKinds, []route.Kind{route.Direct}) {
		t.Errorf("zero Features routes %v, want only direct", f.ExchangeKinds)
	}
	if err := f.validate(); err != nil {
		t.Errorf("zero Features with defaults: %v", err)
	}

	kinds := make([]route.Kind, 1, 4)
	kinds[0] = route.Topic
	g := Features{ExchangeKinds: kinds, MaxMessageSize: 5, Timeout: time.Minute, Quiet: time.Second}.withDefaults()
	if g.MaxMessageSize != 5 || g.Timeout != time.Minute || g.Quiet != time.Second {
		t.Errorf("set knobs were overwritten: %+v", g)
	}
	if !g.routes(route.Topic) || !g.routes(route.Direct) || g.routes(route.Fanout) {
		t.Errorf("ExchangeKinds %v, want topic and direct", g.ExchangeKinds)
	}
	if kinds[:2][1] == route.Direct {
		t.Error("withDefaults appended into the caller's ExchangeKinds array")
	}
}

func TestFeaturesValidate(t *testing.T) {
	block := func(*testing.T, transports.Connector, bool) {}
	tests := []struct {
		name string
		f    Features
		want string // "" for valid
	}{
		{"zero", Features{}, ""},
		{"every kind", Features{ExchangeKinds: allKinds}, ""},
		{"unknown kind", Features{ExchangeKinds: []route.Kind{"x-delayed"}}, "unknown kind"},
		{"negative size", Features{MaxMessageSize: -1}, "MaxMessageSize"},
		{"negative timeout", Features{Timeout: -time.Second}, "Timeout"},
		{"quiet too long", Features{Timeout: time.Second, Quiet: time.Second}, "shorter than Timeout"},
		{"block hook without flag", Features{Hooks: Hooks{Block: block}}, "BlockNotifications"},
		{"block hook with flag", Features{BlockNotifications: true, Hooks: Hooks{Block: block}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f.withDefaults().validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("validate: %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("validate: %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestGroupsHaveUniqueNames(t *testing.T) {
	seen := map[string]bool{}
	for _, g := range groups() {
		if len(g.tests) == 0 {
			t.Errorf("group %s has no tests", g.name)
		}
		for _, tc := range g.tests {
			name := g.name + "/" + tc.name
			if seen[name] || strings.ContainsAny(tc.name, " /") {
				t.Errorf("test name %q is duplicated or not a single -run word", name)
			}
			seen[name] = true
		}
	}
}
