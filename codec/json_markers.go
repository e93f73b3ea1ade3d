package codec

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// fromMarker converts the value of a Kombu 5.3 type marker. See [JSON].
func fromMarker(typ, val any) (any, error) {
	name, ok := typ.(string)
	if !ok {
		return nil, fmt.Errorf("%w: json: type marker __type__ is %s, want a string", ErrDecode, jsonKind(typ))
	}
	switch name {
	case "datetime", "date", "time":
		s, ok := val.(string)
		if !ok {
			break
		}
		t, err := parseISO(name, s)
		if err != nil {
			return nil, fmt.Errorf("%w: json: %s marker: %w", ErrDecode, name, err)
		}
		return t, nil
	case "decimal":
		switch v := val.(type) {
		case string:
			return v, nil
		case json.Number:
			return v.String(), nil
		}
	case "uuid":
		s, ok := val.(string)
		if m, isMap := val.(map[string]any); isMap {
			s, ok = m["hex"].(string)
		}
		if !ok {
			break
		}
		u, err := canonicalUUID(s)
		if err != nil {
			return nil, fmt.Errorf("%w: json: uuid marker: %w", ErrDecode, err)
		}
		return u, nil
	case "bytes":
		if s, ok := val.(string); ok {
			return []byte(s), nil
		}
	case "base64":
		s, ok := val.(string)
		if !ok {
			break
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			if b, err = base64.RawStdEncoding.DecodeString(s); err != nil {
				return nil, fmt.Errorf("%w: json: base64 marker: %w", ErrDecode, err)
			}
		}
		return b, nil
	default:
		return nil, fmt.Errorf("%w: json: unknown type marker %q", ErrDecode, name)
	}
	return nil, fmt.Errorf("%w: json: %s marker has %s value", ErrDecode, name, jsonKind(val))
}

// canonicalUUID accepts what Python's uuid.UUID(hex=...) accepts (32 hex
// digits, with optional dashes, braces and "urn:uuid:" prefix) and returns
// the lower-case 8-4-4-4-12 form.
func canonicalUUID(s string) (string, error) {
	h := strings.TrimPrefix(strings.TrimPrefix(s, "urn:"), "uuid:")
	h = strings.Trim(h, "{}")
	h = strings.ReplaceAll(h, "-", "")
	var b [16]byte
	if len(h) != 32 {
		return "", fmt.Errorf("%q is not a UUID", s)
	}
	if _, err := hex.Decode(b[:], []byte(h)); err != nil {
		return "", fmt.Errorf("%q is not a UUID", s)
	}
	x := hex.EncodeToString(b[:])
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:], nil
}

// parseISO parses what Python's fromisoformat produces and accepts in the
// forms Kombu peers send: kind "date" is YYYY-MM-DD; "time" is
// HH[:MM[:SS[.fff]]][offset]; "datetime" is a date, one separator
// character, then a time. An offset is Z or ±HH[:MM[:SS]]. No offset means
// UTC.
func parseISO(kind, s string) (time.Time, error) {
	var (
		y, mo, d = 0, 1, 1
		rest     = s
		err      error
	)
	if kind != "time" {
		if y, mo, d, err = parseISODate(s); err != nil {
			return time.Time{}, err
		}
		rest = s[min(len(s), 10):]
		if kind == "date" {
			if rest != "" {
				return time.Time{}, fmt.Errorf("%q is not a date", s)
			}
			return time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC), nil
		}
		if rest == "" {
			return time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC), nil
		}
		_, size := firstRune(rest)
		rest = rest[size:]
	}
	h, mi, sec, ns, loc, err := parseISOClock(rest)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: %w", s, err)
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, ns, loc), nil
}

func firstRune(s string) (rune, int) {
	for _, r := range s {
		return r, len(string(r))
	}
	return 0, 0
}

func parseISODate(s string) (y, m, d int, err error) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, fmt.Errorf("%q does not start with YYYY-MM-DD", s)
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || y < 1 || m < 1 || m > 12 || d < 1 ||
		d > time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return 0, 0, 0, fmt.Errorf("%q is not a valid date", s[:10])
	}
	return y, m, d, nil
}

// parseISOClock parses HH[:MM[:SS[.fraction]]] followed by an optional
// offset.
func parseISOClock(s string) (h, m, sec, ns int, loc *time.Location, err error) {
	clock, off := s, ""
	if i := strings.IndexAny(s, "Zz+-"); i >= 0 {
		clock, off = s[:i], s[i:]
	}
	frac := ""
	if i := strings.IndexAny(clock, ".,"); i >= 0 {
		clock, frac = clock[:i], clock[i+1:]
	}
	f, ok := clockFields(clock)
	if !ok || f[0] > 23 || f[1] > 59 || f[2] > 59 || (frac != "" && len(clock) != 8) {
		return 0, 0, 0, 0, nil, fmt.Errorf("invalid time of day")
	}
	if frac != "" {
		n, ok := digits(frac)
		if !ok || len(frac) > 9 {
			return 0, 0, 0, 0, nil, fmt.Errorf("invalid fraction of a second")
		}
		for range 9 - len(frac) {
			n *= 10
		}
		ns = n
	}
	loc, err = parseISOOffset(off)
	return f[0], f[1], f[2], ns, loc, err
}

// clockFields parses "HH", "HH:MM" or "HH:MM:SS".
func clockFields(s string) ([3]int, bool) {
	var f [3]int
	parts := strings.Split(s, ":")
	if len(parts) > 3 {
		return f, false
	}
	for i, p := range parts {
		n, ok := digits(p)
		if !ok || len(p) != 2 {
			return f, false
		}
		f[i] = n
	}
	return f, true
}

func parseISOOffset(off string) (*time.Location, error) {
	switch off {
	case "":
		return time.UTC, nil
	case "Z", "z":
		return time.UTC, nil
	}
	sign := 1
	if off[0] == '-' {
		sign = -1
	}
	f, ok := clockFields(off[1:])
	if !ok || f[0] > 23 || f[1] > 59 || f[2] > 59 {
		return nil, fmt.Errorf("invalid UTC offset %q", off)
	}
	secs := sign * (f[0]*3600 + f[1]*60 + f[2])
	if secs == 0 {
		return time.UTC, nil
	}
	return time.FixedZone("", secs), nil
}

// digits parses a non-empty run of ASCII digits of at most 9 characters.
func digits(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
