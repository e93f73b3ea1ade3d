package main

import (
	"strings"
	"testing"
)

// TestUsageErrors checks that every bad command line fails before dialing,
// with exit code 2 and one line on stderr that says what is wrong.
func TestUsageErrors(t *testing.T) {
	t.Setenv(envURL, "")
	const url = "--url=memory://usage"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", []string{"publish", url, "--bogus", "1"}, "flag provided but not defined: -bogus"},
		{"bad flag value", []string{"publish", url, "--count", "many", "1"}, `invalid value "many" for flag -count`},
		{"unparseable url", []string{"publish", "--url", "amqp://user:hunter2@[::1", "1"}, "invalid URL"},
		{"unknown scheme", []string{"publish", "--url", "rabbit://h", "1"}, `unknown URL scheme "rabbit"`},
		{"bad memory url", []string{"publish", "--url", "memory://u:hunter2@h:1/x", "1"}, "invalid URL"},
		{"no body", []string{"publish", url}, "want exactly one BODY argument"},
		{"two bodies", []string{"publish", url, "1", "2"}, "got 2"},
		{"invalid json", []string{"publish", url, "{nope"}, "BODY: not valid JSON"},
		{"invalid json for msgpack", []string{"publish", url, "--serializer", "msgpack", "[1"}, "BODY: not valid JSON"},
		{"json with trailing text", []string{"publish", url, "--serializer", "msgpack", "1 2"}, "text after the value"},
		{"unknown serializer", []string{"publish", url, "--serializer", "pickle", "1"}, `unknown --serializer "pickle"`},
		{"unknown type", []string{"publish", url, "--exchange", "x", "--type", "round", "1"}, "unknown exchange kind"},
		{"type without exchange", []string{"publish", url, "--type", "topic", "1"}, "--type needs --exchange"},
		{"unknown compression", []string{"publish", url, "--compression", "rar", "1"}, "unknown compression"},
		{"decode-only compression", []string{"publish", url, "--compression", "bzip2", "1"}, "bzip2"},
		{"priority too high", []string{"publish", url, "--priority", "256", "1"}, "--priority must be 0 to 255"},
		{"count zero", []string{"publish", url, "--count", "0", "1"}, "--count must be at least 1"},
		{"bad header", []string{"publish", url, "--header", "novalue", "1"}, "want key=value"},
		{"zero connect timeout", []string{"publish", url, "--connect-timeout", "0s", "1"}, "--connect-timeout must be positive"},
		{"consume without queue", []string{"consume", url}, "--queue is required"},
		{"consume argument", []string{"consume", url, "--queue", "q", "extra"}, `unexpected argument "extra"`},
		{"consume format", []string{"consume", url, "--queue", "q", "--format", "xml"}, `unknown --format "xml"`},
		{"consume negative count", []string{"consume", url, "--queue", "q", "--count", "-1"}, "must not be negative"},
		{"consume key without exchange", []string{"consume", url, "--queue", "q", "--routing-key", "k"}, "need --exchange"},
		{"consume type", []string{"consume", url, "--queue", "q", "--exchange", "x", "--type", "round"}, "unknown exchange kind"},
		{"consume bind without declare", []string{"consume", url, "--queue", "q", "--exchange", "x", "--declare=false"}, "--exchange needs --declare"},
		{"consume accept", []string{"consume", url, "--queue", "q", "--accept", "json, nonsense"}, "nonsense"},
		{"demo argument", []string{"demo", "now"}, "demo takes no arguments"},
		{"help for unknown command", []string{"help", "nope"}, `unknown command "nope"`},
		{"help with two commands", []string{"help", "publish", "consume"}, "at most one command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := kelp(t, "", tt.args...)
			r.wantFailure(t, exitUsage, tt.want)
			if strings.Contains(r.stderr, "hunter2") {
				t.Errorf("stderr shows the password: %q", r.stderr)
			}
		})
	}
}

// TestNoArguments prints the usage on stderr and exits 2.
func TestNoArguments(t *testing.T) {
	r := kelp(t, "")
	if r.code != exitUsage || !strings.Contains(r.stderr, "Usage:") || r.stdout != "" {
		t.Fatalf("got %+v, want exit 2 with the usage on stderr", r)
	}
}

// TestHelp checks every way of asking for help: exit 0, the text on stdout.
func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"help"}, []string{"Usage:", "demo", "publish", "consume", "KELP_URL"}},
		{[]string{"-h"}, []string{"Usage:", "Commands:"}},
		{[]string{"--help"}, []string{"Usage:", "Commands:"}},
		{[]string{"help", "help"}, []string{"Commands:"}},
		{[]string{"help", "publish"}, []string{"kelp publish [--url URL] [flags] BODY", "-serializer", "-header key=value", "-count N"}},
		{[]string{"publish", "-h"}, []string{"kelp publish", "-routing-key key"}},
		{[]string{"consume", "--help"}, []string{"kelp consume [--url URL] --queue Q", "-timeout duration", "-accept list", "-format"}},
		{[]string{"help", "demo"}, []string{"kelp demo", "embedded memory broker"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := kelp(t, "", tt.args...)
			r.wantOK(t)
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("help does not mention %q:\n%s", w, r.stdout)
				}
			}
		})
	}
}

// TestParseFlagsAfterArguments checks that flags may follow BODY and that
// "--" ends the flags.
func TestParseFlagsAfterArguments(t *testing.T) {
	tests := []struct {
		args      []string
		wantPos   []string
		wantCount int
	}{
		{[]string{"--count", "2", "body"}, []string{"body"}, 2},
		{[]string{"body", "--count", "3"}, []string{"body"}, 3},
		{[]string{"a", "--count", "4", "b"}, []string{"a", "b"}, 4},
		{[]string{"--", "--count", "5"}, []string{"--count", "5"}, 1},
		{[]string{"-", "--count=6"}, []string{"-"}, 6},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			fs := newFlagSet(&env{}, "test", "", "")
			count := fs.Int("count", 1, "")
			pos, err := fs.parse(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(pos, "|") != strings.Join(tt.wantPos, "|") || *count != tt.wantCount {
				t.Errorf("got %q count %d, want %q count %d", pos, *count, tt.wantPos, tt.wantCount)
			}
		})
	}
}

// TestOneLine checks the folding of multi-line errors.
func TestOneLine(t *testing.T) {
	tests := map[string]string{
		"plain":             "plain",
		"a\nb":              "a ; b",
		"  spaced \t out  ": "spaced out",
	}
	for in, want := range tests {
		if got := oneLine(in); got != want {
			t.Errorf("oneLine(%q) = %q, want %q", in, got, want)
		}
	}
}
