package conn

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/kelpmq/kelp/transports"
)

// Query keys that [ParseURL] consumes itself and strips before a driver
// sees the URL. Every other query key goes to the driver, which rejects
// the ones it does not know.
const (
	// QueryFailoverStrategy selects the [FailoverStrategy]: "round-robin"
	// or "shuffle" (Kombu's failover_strategy).
	QueryFailoverStrategy = "failover_strategy"
	// QueryConnectTimeout sets [Config.ConnectTimeout]: seconds as a
	// number ("5", "2.5", Kombu's form) or a Go duration ("1500ms").
	QueryConnectTimeout = "connect_timeout"
)

// URL is a parsed connection URL: one or more broker addresses to fail
// over between, plus the connection-level settings its query carried.
type URL struct {
	// Addrs are the single-broker URLs, in the order given, with the
	// connection-level query keys removed. Drivers parse them.
	Addrs []string
	// Failover is the strategy from failover_strategy; [RoundRobin] if
	// absent.
	Failover FailoverStrategy
	// ConnectTimeout is the value of connect_timeout; zero if absent.
	ConnectTimeout time.Duration
}

// String returns the failover list joined by ";", passwords redacted.
func (u URL) String() string {
	r := make([]string, len(u.Addrs))
	for i, a := range u.Addrs {
		r[i] = transports.RedactURL(a)
	}
	return strings.Join(r, ";")
}

// ParseURL parses a Kombu-style connection URL such as
// "amqp://user:pass@host:5672//" or a ';'-separated failover list
// "amqp://h1//;amqp://h2//". Each element must have a scheme; consecutive
// sentinel:// elements are one element, Kombu's group of Redis Sentinels. The query
// keys [QueryFailoverStrategy] and [QueryConnectTimeout] are read and
// removed from every element (giving different values in two elements is
// an error); other keys are left for the driver. Errors wrap
// [ErrInvalidConfig] and never contain a password.
//
// ParseURL does not look the schemes up; [Dial] does.
func ParseURL(raw string) (URL, error) {
	var u URL
	var failover, timeout string
	for _, part := range splitFailover(raw) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if scheme, _, ok := strings.Cut(part, "://"); !ok || scheme == "" {
			// RedactURL finds a password only after "://": lend it one, for
			// a part cut out of a user name holding a ';'.
			shown := strings.TrimPrefix(transports.RedactURL("x://"+part), "x://")
			return URL{}, fmt.Errorf("%w: %q has no scheme (want scheme://...)", ErrInvalidConfig, shown)
		}
		stripped, found, err := stripQuery(part, QueryFailoverStrategy, QueryConnectTimeout)
		if err != nil {
			return URL{}, err
		}
		// Stripping the query can leave the URL ending in ';'s, which
		// splitFailover would read as separators on the next parse.
		stripped = strings.TrimRightFunc(stripped, spaceOrSemicolon)
		for _, kv := range []struct {
			key string
			dst *string
		}{{QueryFailoverStrategy, &failover}, {QueryConnectTimeout, &timeout}} {
			v, ok := found[kv.key]
			if !ok {
				continue
			}
			if *kv.dst != "" && *kv.dst != v {
				return URL{}, fmt.Errorf("%w: %s given twice with different values (%q, %q)", ErrInvalidConfig, kv.key, *kv.dst, v)
			}
			*kv.dst = v
		}
		u.Addrs = append(u.Addrs, stripped)
	}
	if len(u.Addrs) == 0 {
		return URL{}, fmt.Errorf("%w: empty URL", ErrInvalidConfig)
	}
	switch strings.ToLower(failover) {
	case "", "round-robin", "round_robin", "roundrobin":
		u.Failover = RoundRobin
	case "shuffle":
		u.Failover = Shuffle
	default:
		return URL{}, fmt.Errorf("%w: %s=%q (want round-robin or shuffle)", ErrInvalidConfig, QueryFailoverStrategy, failover)
	}
	if timeout != "" {
		d, err := parseSeconds(timeout)
		if err != nil {
			return URL{}, fmt.Errorf("%w: %s=%q: %w", ErrInvalidConfig, QueryConnectTimeout, timeout, err)
		}
		u.ConnectTimeout = d
	}
	return u, nil
}

// stripQuery removes the given keys from raw's query, keeping the other
// parameters exactly as written, and returns their (unescaped) values.
func stripQuery(raw string, keys ...string) (string, map[string]string, error) {
	base, frag, hasFrag := strings.Cut(raw, "#")
	path, query, hasQuery := strings.Cut(base, "?")
	if !hasQuery {
		return raw, nil, nil
	}
	var kept []string
	found := map[string]string{}
	for param := range strings.SplitSeq(query, "&") {
		k, v, _ := strings.Cut(param, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return "", nil, fmt.Errorf("%w: %q: bad query: %w", ErrInvalidConfig, transports.RedactURL(raw), err)
		}
		ours := false
		for _, want := range keys {
			if key == want {
				ours = true
			}
		}
		if !ours {
			kept = append(kept, param)
			continue
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return "", nil, fmt.Errorf("%w: %q: bad query value for %s: %w", ErrInvalidConfig, transports.RedactURL(raw), key, err)
		}
		found[key] = val
	}
	out := path
	if len(kept) > 0 {
		out += "?" + strings.Join(kept, "&")
	}
	if hasFrag {
		out += "#" + frag
	}
	return out, found, nil
}

// parseSeconds reads a number of seconds ("5", "2.5") or a Go duration
// ("1500ms"). The result must be positive.
func parseSeconds(s string) (time.Duration, error) {
	var d time.Duration
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		d = time.Duration(f * float64(time.Second))
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, fmt.Errorf("not a number of seconds or a duration")
	}
	if d <= 0 {
		return 0, fmt.Errorf("must be positive")
	}
	return d, nil
}

// splitFailover splits a ';'-separated failover list. A ';' separates only
// where a new URL ("scheme://") follows it or only separators and spaces
// do (trailing ';'s), and not between two Sentinel URLs (one group, see
// sentinelURL), so a ';' inside a URL, as in
// a password "amqp://u:pa;ss@host//" (legal unescaped in user info), stays
// in that URL instead of cutting it, and its password, in two.
func splitFailover(raw string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(raw); i++ {
		rest := raw[i+1:]
		next := strings.TrimLeftFunc(rest, unicode.IsSpace)
		if raw[i] == ';' && (strings.TrimFunc(rest, spaceOrSemicolon) == "" ||
			startsURL(next) && !(sentinelURL(raw[start:i]) && sentinelURL(next))) {
			parts = append(parts, raw[start:i])
			start = i + 1
		}
	}
	return append(parts, raw[start:])
}

// sentinelURL reports whether s starts a Redis Sentinel URL. Kombu writes
// a group of Sentinels as "sentinel://h1;sentinel://h2/0?master_name=m":
// one address, which the redis driver reads whole, not a failover list.
func sentinelURL(s string) bool {
	s = strings.ToLower(strings.TrimLeftFunc(s, unicode.IsSpace))
	return strings.HasPrefix(s, "sentinel://") || strings.HasPrefix(s, "redis+sentinel://")
}

// spaceOrSemicolon matches what separates failover URLs: the white space
// ParseURL trims around each URL, and ';'.
func spaceOrSemicolon(r rune) bool { return r == ';' || unicode.IsSpace(r) }

// startsURL reports whether s begins with "scheme://" (RFC 3986 scheme).
func startsURL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return strings.HasPrefix(s[i:], "://")
		default:
			return false
		}
	}
	return false
}
