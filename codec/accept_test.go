package codec_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/kelpmq/kelp/codec"
)

func TestAcceptSemantics(t *testing.T) {
	mustAccept := func(names ...string) *codec.Accept {
		a, err := codec.NewAccept(names...)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := []struct {
		name    string
		accept  *codec.Accept
		allowed []string
		refused []string
	}{
		{"nil allows everything but pickle and yaml", nil,
			[]string{"application/json", "application/x-msgpack", "text/plain", "x/y", ""},
			[]string{"application/x-python-serialize", "Application/X-YAML; charset=utf-8"}},
		{"empty allows only trusted types", mustAccept(),
			[]string{"application/data", "application/text", ""},
			[]string{"application/json", "text/plain", "application/x-msgpack"}},
		{"json by name", mustAccept("json"),
			[]string{"application/json", "APPLICATION/JSON", "application/json; charset=utf-8", "application/data", "application/text"},
			[]string{"text/plain", "application/x-msgpack", "application/x-yaml", "application/jsonx"}},
		{"by content type", mustAccept("application/x-msgpack"),
			[]string{"application/x-msgpack"}, []string{"application/json"}},
		{"unregistered content type", mustAccept("application/x-custom"),
			[]string{"application/x-custom"}, []string{"application/json"}},
		{"text by name", mustAccept("text", "json"),
			[]string{"text/plain", "application/json"}, []string{"application/x-msgpack"}},
		{"aliases and duplicates", mustAccept("JSON", "application/json", "raw"),
			[]string{"application/json", "application/data"}, []string{"text/plain"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, ct := range tt.allowed {
				if !tt.accept.Allows(ct) {
					t.Errorf("Allows(%q) = false, want true", ct)
				}
			}
			for _, ct := range tt.refused {
				if tt.accept.Allows(ct) {
					t.Errorf("Allows(%q) = true, want false", ct)
				}
			}
		})
	}
}

func TestAcceptUnknownName(t *testing.T) {
	if _, err := codec.NewAccept("json", "bson"); !errors.Is(err, codec.ErrUnknownSerializer) {
		t.Fatalf("err = %v, want ErrUnknownSerializer", err)
	}
}

func TestAcceptIsImmutable(t *testing.T) {
	a, err := codec.NewAccept("msgpack", "json", "json")
	if err != nil {
		t.Fatal(err)
	}
	types := a.ContentTypes()
	if !slices.Equal(types, []string{"application/json", "application/x-msgpack"}) {
		t.Fatalf("ContentTypes = %v", types)
	}
	types[0] = "text/plain"
	if a.Allows("text/plain") || !a.Allows("application/json") {
		t.Fatal("mutating ContentTypes changed the Accept")
	}
	if a.String() != "application/json,application/x-msgpack" {
		t.Fatalf("String = %q", a.String())
	}
	var none *codec.Accept
	if none.String() != "<any>" || none.ContentTypes() != nil {
		t.Fatal("nil Accept String/ContentTypes")
	}
}

func TestAcceptWithCustomRegistry(t *testing.T) {
	r := codec.NewRegistry()
	if _, err := r.NewAccept("json"); !errors.Is(err, codec.ErrUnknownSerializer) {
		t.Fatalf("empty registry resolved json: %v", err)
	}
	if err := r.RegisterSerializer(codec.JSON{}, "js"); err != nil {
		t.Fatal(err)
	}
	a, err := r.NewAccept("js")
	if err != nil || !a.Allows("application/json") {
		t.Fatalf("alias: %v, %v", a, err)
	}
}
