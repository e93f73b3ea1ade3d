package pidbox

import (
	"fmt"
	"regexp"
	"strings"
)

// Matchers of a command's pattern, as kombu.matcher registers them.
const (
	// MatchGlob matches the hostname against a shell pattern, as Python's
	// fnmatch does (case-sensitive on POSIX): *, ?, [set], [!set].
	// It is the default when a pattern is given without a matcher.
	MatchGlob = "glob"
	// MatchPCRE matches a regular expression at the start of the hostname,
	// as Python's re.match does. Go's RE2 syntax is used, which shares
	// the common core of Python's but has no backreferences or lookaround.
	MatchPCRE = "pcre"
)

// compileMatcher returns the regular expression that decides whether a
// hostname matches pattern under matcher.
func compileMatcher(pattern, matcher string) (*regexp.Regexp, error) {
	switch matcher {
	case MatchGlob, "":
		return regexp.Compile(globToRegexp(pattern))
	case MatchPCRE:
		return regexp.Compile(`^(?:` + pattern + `)`)
	default:
		return nil, fmt.Errorf("%w: unknown matcher %q (want %q or %q)", ErrInvalidCall, matcher, MatchGlob, MatchPCRE)
	}
}

// globToRegexp translates a shell pattern as Python's fnmatch.translate
// does: the whole string must match, and a '[' without its ']' is literal.
func globToRegexp(pat string) string {
	var b strings.Builder
	b.WriteString(`(?s)\A`)
	for i := 0; i < len(pat); i++ {
		switch c := pat[i]; c {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '[':
			j := i + 1
			if j < len(pat) && pat[j] == '!' {
				j++
			}
			if j < len(pat) && pat[j] == ']' {
				j++
			}
			for j < len(pat) && pat[j] != ']' {
				j++
			}
			if j >= len(pat) {
				b.WriteString(`\[`)
				continue
			}
			set := pat[i+1 : j]
			neg := strings.HasPrefix(set, "!")
			if neg {
				set = set[1:]
			}
			b.WriteByte('[')
			if neg {
				b.WriteByte('^')
			}
			for k := 0; k < len(set); k++ {
				if ch := set[k]; ch == '\\' || ch == '[' || ch == ']' || ch == '^' {
					b.WriteByte('\\')
					b.WriteByte(ch)
				} else {
					b.WriteByte(ch)
				}
			}
			b.WriteByte(']')
			i = j
		default:
			b.WriteString(regexp.QuoteMeta(pat[i : i+1]))
		}
	}
	b.WriteString(`\z`)
	return b.String()
}
