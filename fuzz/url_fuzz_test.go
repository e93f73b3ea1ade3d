package fuzz_test

import (
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
//     joined again, returns the same addresses;
//   - amqp.ParseURL recovers exactly the user name and password that were
//     put in, whenever it accepts the URL and the rest has no '@'.
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

		// A URL whose password is known.
		if len(pass) < 6 {
			return // too short to tell a leak from a coincidence
		}
		info := url.UserPassword(user, pass).String()
		built := "amqp://" + info + "@" + rest
		for _, spelling := range passwordSpellings(pass) {
			if strings.Count(built, spelling) != strings.Count(info, spelling) || strings.Contains(user, spelling) {
				return // the password also appears elsewhere in the URL
			}
		}
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
		if !strings.Contains(rest, "@") && (cfg.Username != user || cfg.Password != pass) {
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
	if !slices.Equal(again.Addrs, u.Addrs) {
		t.Fatalf("conn.ParseURL is not idempotent on %q: %q then %q", raw, u.Addrs, again.Addrs)
	}
}

// passwordSpellings returns the forms a password can take in a URL.
func passwordSpellings(pass string) []string {
	return slices.Compact([]string{pass, url.PathEscape(pass), url.QueryEscape(pass), url.UserPassword("", pass).String()[1:]})
}

// leaks reports whether s contains pass in any of its spellings.
func leaks(s, pass string) bool {
	for _, p := range passwordSpellings(pass) {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}
