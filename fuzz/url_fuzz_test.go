package fuzz_test

import (
	"cmp"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/amqp"
)

// FuzzParseURL feeds conn.ParseURL, amqp.ParseURL and transports.RedactURL
// two kinds of input: the raw string as it is, and a URL built from a user
// name, a password and the fuzzed rest, so that the password is known. It
// checks that
//
//   - nothing panics;
//   - no error, no redacted URL and no URL.String shows the password, in
//     any spelling the URL had it;
//   - conn.ParseURL is idempotent: parsing the addresses it returned,
//     joined again, returns the same addresses (up to surrounding spaces);
//   - amqp.ParseURL recovers exactly the user name and password that were
//     put in (an empty user being guest), whenever it accepts the URL and
//     the rest has no '@'.
func FuzzParseURL(f *testing.F) {
	for _, s := range []struct{ user, pass, rest string }{
		{"guest", "guest", "localhost:5672//"},
		{"user", "s3cret", "h1:5672/vhost;amqp://h2//"},
		{"u", "p@ss:w/rd", "[::1]:5671/%2F?heartbeat=10&connect_timeout=2.5"},
		{"", "onlypass", "host/?failover_strategy=shuffle"},
		{"user", "päss wörd", "host/v?ssl_cert_reqs=CERT_NONE"},
		{"a", "b", "host:99999/"},
		{"x", "y;z", "host/;memory://"},
		{"x", "%zz", "host/%zz"},
	} {
		f.Add(s.user, s.pass, s.rest, "amqp://"+s.user+":"+s.pass+"@"+s.rest)
	}
	f.Fuzz(func(t *testing.T, user, pass, rest, raw string) {
		// The raw input: only that nothing panics and that parsing is
		// idempotent.
		checkParse(t, raw, "")
		transports.RedactURL(raw)
		_, _ = amqp.ParseURL(raw)

		// A URL whose password is known and unmistakable: it starts and
		// ends with markers that escaping cannot produce, so any marker in
		// an output is (part of) the password.
		if strings.Contains(user+rest, pwStart) || strings.Contains(user+rest, pwEnd) {
			return
		}
		pass = pwStart + pass + pwEnd
		info := url.UserPassword(user, pass).String()
		built := "amqp://" + info + "@" + rest
		// A ';' in the user info (legal unescaped) must not split the
		// failover list there: only "; scheme://" separates URLs.
		checkParse(t, built, pass)
		if r := transports.RedactURL(built); leaks(r, pass) {
			t.Fatalf("RedactURL(%q) = %q shows the password", built, r)
		}
		cfg, err := amqp.ParseURL(built)
		if err != nil {
			if leaks(err.Error(), pass) {
				t.Fatalf("amqp.ParseURL(%q): error shows the password: %v", built, err)
			}
			return
		}
		// An '@' in the rest moves the end of the user info (the last '@'
		// before the path ends it, as in net/url).
		// An empty user name means Kombu's default, guest.
		if !strings.Contains(rest, "@") && (cfg.Username != cmp.Or(user, "guest") || cfg.Password != pass) {
			t.Fatalf("amqp.ParseURL(%q) = user %q password %q, want %q %q", built, cfg.Username, cfg.Password, user, pass)
		}
		if err := cfg.Validate(); err != nil && leaks(err.Error(), pass) {
			t.Fatalf("Config.Validate: error shows the password: %v", err)
		}
	})
}

// checkParse runs conn.ParseURL on raw and checks idempotence and, when
// pass is not empty, that neither the error nor String shows it.
func checkParse(t *testing.T, raw, pass string) {
	t.Helper()
	u, err := conn.ParseURL(raw)
	if err != nil {
		if pass != "" && leaks(err.Error(), pass) {
			t.Fatalf("conn.ParseURL(%q): error shows the password: %v", raw, err)
		}
		return
	}
	if pass != "" && leaks(u.String(), pass) {
		t.Fatalf("conn.ParseURL(%q).String() = %q shows the password", raw, u.String())
	}
	again, err := conn.ParseURL(strings.Join(u.Addrs, ";"))
	if err != nil {
		t.Fatalf("conn.ParseURL(%q) accepted, but its addresses %q fail: %v", raw, u.Addrs, err)
	}
	// Parsing trims the spaces around each element, before stripping
	// the query: compare what is left once trimmed.
	trim := func(addrs []string) []string {
		out := make([]string, len(addrs))
		for i, a := range addrs {
			out[i] = strings.TrimSpace(a)
		}
		return out
	}
	if !slices.Equal(trim(again.Addrs), trim(u.Addrs)) {
		t.Fatalf("conn.ParseURL is not idempotent on %q: %q then %q", raw, u.Addrs, again.Addrs)
	}
}

// The markers around every known password.
const (
	pwStart = "KELPpw"
	pwEnd   = "pwEND"
)

// leaks reports whether s shows any part of a marked password: either
// marker.
func leaks(s, _ string) bool {
	return strings.Contains(s, pwStart) || strings.Contains(s, pwEnd)
}
