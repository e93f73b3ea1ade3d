package transports

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
)

var registry struct {
	sync.RWMutex
	drivers map[string]Driver
}

// Register makes a driver available under a URL scheme (lower case, such
// as "amqp" or "sqla+postgresql"). It is meant to be called from a driver
// package's init function. It panics if d is nil, the scheme is empty or
// already registered, as database/sql.Register does: both are programming
// errors found at start-up.
func Register(scheme string, d Driver) {
	if d == nil {
		panic("transports: Register driver is nil")
	}
	scheme = strings.ToLower(scheme)
	if scheme == "" || strings.ContainsAny(scheme, ":/") {
		panic(fmt.Sprintf("transports: Register with invalid scheme %q", scheme))
	}
	registry.Lock()
	defer registry.Unlock()
	if registry.drivers == nil {
		registry.drivers = make(map[string]Driver)
	}
	if _, dup := registry.drivers[scheme]; dup {
		panic("transports: Register called twice for scheme " + scheme)
	}
	registry.drivers[scheme] = d
}

// Lookup returns the driver registered for scheme. A scheme of the form
// "a+b" that is not registered itself falls back to "a", as Kombu selects
// transport "a" for "a+b://" URLs. An unknown scheme gives an error wrapping
// [ErrUnknownScheme] that says which schemes are registered and how to add
// the bundled drivers.
func Lookup(scheme string) (Driver, error) {
	scheme = strings.ToLower(scheme)
	registry.RLock()
	d, ok := registry.drivers[scheme]
	if !ok {
		if base, _, plus := strings.Cut(scheme, "+"); plus {
			d, ok = registry.drivers[base]
		}
	}
	registry.RUnlock()
	if ok {
		return d, nil
	}
	known := Schemes()
	hint := "none registered"
	if len(known) > 0 {
		hint = "registered: " + strings.Join(known, ", ")
	}
	return nil, fmt.Errorf("%w %q (%s); import the driver package, or "+
		"github.com/kelpmq/kelp/transports/all for every bundled driver", ErrUnknownScheme, scheme, hint)
}

// Schemes returns the registered schemes, sorted.
func Schemes() []string {
	registry.RLock()
	defer registry.RUnlock()
	s := make([]string, 0, len(registry.drivers))
	for k := range registry.drivers {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

// OpenConnector looks up the driver for rawURL's scheme and asks it for a
// Connector. rawURL is a single URL, not a ';'-separated failover list.
// Errors never contain the URL's password.
func OpenConnector(rawURL string) (Connector, error) {
	scheme, _, ok := strings.Cut(rawURL, "://")
	if !ok || scheme == "" {
		return nil, fmt.Errorf("%w: %q has no scheme (want scheme://...)", ErrInvalidURL, RedactURL(rawURL))
	}
	d, err := Lookup(scheme)
	if err != nil {
		return nil, err
	}
	return d.OpenConnector(rawURL)
}

// RedactURL returns rawURL with any password replaced by "***", for logs
// and errors. It never fails: text it cannot parse as a URL is redacted
// heuristically (everything between "://" and the last "@" before the path
// is reduced to the user name).
func RedactURL(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "redacted")
			// url escapes '*' in user info; write the marker by hand.
			return strings.Replace(u.String(), ":redacted@", ":***@", 1)
		}
		return rawURL
	}
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return rawURL
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return rawURL
	}
	user, _, hasPass := strings.Cut(authority[:at], ":")
	if !hasPass {
		return rawURL
	}
	return scheme + "://" + user + ":***" + rest[at:]
}
