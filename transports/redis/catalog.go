package redis

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports/virtual"
)

// headersPatternPrefix marks the pattern part of a headers-exchange
// binding member, which holds the binding arguments as JSON. Kombu has no
// headers exchange, so Python peers never write or read these.
const headersPatternPrefix = "x-kelp-headers:"

// bindingKey is the set of exchange's bindings.
func (s *store) bindingKey(exchange string) string { return s.keys.key(BindingPrefix + exchange) }

// kind returns the kind of exchange as this process knows it, asking
// Redis for kelp's record when it does not.
func (s *store) kind(ctx context.Context, exchange string) route.Kind {
	s.mu.Lock()
	k, ok := s.kinds[exchange]
	s.mu.Unlock()
	if ok {
		return route.Kind(k)
	}
	if def, found, err := s.Exchange(ctx, exchange); err == nil && found {
		return def.Kind
	}
	return route.Direct
}

// member builds Kombu's binding member: routing key, pattern and queue
// joined by Sep. Topic bindings store a regular expression (with AMQP's
// meaning, in syntax Python's re accepts); headers bindings store their
// arguments.
func member(kind route.Kind, b virtual.Binding) string {
	pattern := ""
	switch kind {
	case route.Topic:
		pattern = TopicRegexp(b.Key)
	case route.Headers:
		if len(b.Args) > 0 {
			js, _ := json.Marshal(b.Args)
			pattern = headersPatternPrefix + string(js)
		}
	}
	return b.Key + Sep + pattern + Sep + b.Queue
}

// AddBinding is SADD of the binding's member.
func (s *store) AddBinding(ctx context.Context, exchange string, b virtual.Binding) error {
	c, err := s.rdb()
	if err != nil {
		return err
	}
	kind := s.kind(ctx, exchange)
	defer s.bindingsChanged(exchange)
	if err := c.SAdd(ctx, s.bindingKey(exchange), member(kind, b)).Err(); err != nil {
		return err
	}
	s.noteBinding(kind, exchange, b, true)
	return nil
}

// RemoveBinding is SREM of the binding's member.
func (s *store) RemoveBinding(ctx context.Context, exchange string, b virtual.Binding) error {
	c, err := s.rdb()
	if err != nil {
		return err
	}
	kind := s.kind(ctx, exchange)
	s.noteBinding(kind, exchange, b, false)
	defer s.bindingsChanged(exchange)
	return c.SRem(ctx, s.bindingKey(exchange), member(kind, b)).Err()
}

// bindingsTTL is how long a listing of an exchange's bindings read from
// Redis routes this process's publishes before it is read again. Every
// publish read the whole set before (Kombu does), which made routing cost
// grow with the number of bindings; this process's own binding changes
// drop the listing at once, so only bindings changed by other processes
// (kelp or Python) take up to this long to affect routing here.
const bindingsTTL = time.Second

// cachedBindings is a listing of an exchange's bindings and when it was
// read.
type cachedBindings struct {
	rows []virtual.Binding
	at   time.Time
}

// bindingsChanged drops the cached listing of exchange after a binding
// change by this process (also one that failed: it may have reached
// Redis).
func (s *store) bindingsChanged(exchange string) {
	s.mu.Lock()
	delete(s.bindings, exchange)
	s.bindingsGen++
	s.mu.Unlock()
}

// Bindings is SMEMBERS, parsed, cached for bindingsTTL. A topic binding
// carries its stored pattern as Match, so that a pattern a Python peer
// stored is evaluated as Python evaluates it. While the listing is cached
// the same slice is returned, which tells the Broker nothing changed.
func (s *store) Bindings(ctx context.Context, exchange string) ([]virtual.Binding, error) {
	s.mu.Lock()
	cached, ok := s.bindings[exchange]
	gen := s.bindingsGen
	s.mu.Unlock()
	if ok && time.Since(cached.at) < s.bindingsTTL {
		return cached.rows, nil
	}
	c, err := s.rdb()
	if err != nil {
		return nil, err
	}
	at := time.Now()
	ms, err := c.SMembers(ctx, s.bindingKey(exchange)).Result()
	if err != nil {
		return nil, err
	}
	out := parseBindings(ms)
	s.mu.Lock()
	if s.bindingsGen == gen && s.bindingsTTL > 0 {
		s.bindings[exchange] = cachedBindings{rows: out, at: at}
	}
	s.mu.Unlock()
	return out, nil
}

// parseBindings reads Kombu's binding members.
func parseBindings(ms []string) []virtual.Binding {
	out := make([]virtual.Binding, 0, len(ms))
	for _, m := range ms {
		parts := strings.Split(m, Sep)
		if len(parts) != 3 {
			continue
		}
		b := virtual.Binding{Key: parts[0], Queue: parts[2]}
		if js, ok := strings.CutPrefix(parts[1], headersPatternPrefix); ok {
			var t route.Table
			if json.Unmarshal([]byte(js), &t) == nil {
				b.Args = t
			}
		} else if parts[1] != "" && parts[1] != TopicRegexp(parts[0]) {
			// A pattern kelp did not write (kelp's own are matched by
			// the exchange's AMQP matcher, which they mirror).
			if re := compilePattern(parts[1]); re != nil {
				b.Pattern, b.Match = parts[1], re.MatchString
			}
		}
		out = append(out, b)
	}
	return out
}

// patterns caches compiled binding patterns, which every publish reads.
var patterns sync.Map // string -> *regexp.Regexp (nil when invalid)

// compilePattern compiles a stored pattern with Python's re.match
// semantics (anchored at the start). A pattern Go cannot compile yields
// nil, and the binding is then matched by its key.
func compilePattern(p string) *regexp.Regexp {
	if v, ok := patterns.Load(p); ok {
		return v.(*regexp.Regexp)
	}
	re, err := regexp.Compile(`^(?:` + p + `)`)
	if err != nil {
		re = nil
	}
	patterns.Store(p, re)
	return re
}

// TopicRegexp returns the regular expression kelp stores for a topic
// binding key: it matches exactly the routing keys AMQP's topic matching
// does ("*" one word, "#" zero or more words), in syntax both Go's regexp
// and Python's re accept, so a Python publisher routes kelp's bindings as
// kelp does.
func TopicRegexp(key string) string {
	// "#.#" means the same as "#".
	var ws []string
	for _, w := range strings.Split(key, ".") {
		if w == "#" && len(ws) > 0 && ws[len(ws)-1] == "#" {
			continue
		}
		ws = append(ws, w)
	}
	words := 0
	for _, w := range ws {
		if w != "#" {
			words++
		}
	}
	// A lone "*" matches one non-empty word; among several words "*" may
	// match an empty one ("a..b"), as in AMQP.
	star := `[^.]*`
	if words < 2 {
		star = `[^.]+`
	}
	var b strings.Builder
	b.WriteString("^")
	for i, w := range ws {
		switch {
		case w == "#" && len(ws) == 1:
			b.WriteString(".*")
		case w == "#" && i == 0:
			b.WriteString(`(?:.*\.)?`)
			continue
		case w == "#":
			b.WriteString(`(?:\..*)?`)
		default:
			if i > 0 && (i > 1 || ws[0] != "#") {
				b.WriteString(`\.`)
			}
			if w == "*" {
				b.WriteString(star)
			} else {
				b.WriteString(pyEscape(w))
			}
		}
	}
	b.WriteString("$")
	return b.String()
}

// pyEscape escapes every character of s that is not a letter, digit or
// underscore, as Python's re.escape does for ASCII punctuation; both
// regexp dialects read the result as the literal text.
func pyEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r > 127:
		default:
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// exchangeKey is kelp's record of an exchange's declaration.
func (s *store) exchangeKey(name string) string { return s.keys.key(ExchangePrefix + name) }

// PutExchange records def as JSON in a hash (field "def", plus "type" for
// people reading Redis). Python peers never read it.
func (s *store) PutExchange(ctx context.Context, def route.Exchange) error {
	s.rememberKind(def.Name, def.Kind)
	c, err := s.rdb()
	if err != nil {
		return err
	}
	js, err := json.Marshal(def)
	if err != nil {
		return err
	}
	return c.HSet(ctx, s.exchangeKey(def.Name), "type", string(def.Kind), "def", js).Err()
}

// DeleteExchange forgets the record.
func (s *store) DeleteExchange(ctx context.Context, name string) error {
	s.mu.Lock()
	delete(s.kinds, name)
	s.mu.Unlock()
	s.bindingsChanged(name)
	c, err := s.rdb()
	if err != nil {
		return err
	}
	return c.Del(ctx, s.exchangeKey(name)).Err()
}

// Exchange reads the record.
func (s *store) Exchange(ctx context.Context, name string) (route.Exchange, bool, error) {
	c, err := s.rdb()
	if err != nil {
		return route.Exchange{}, false, err
	}
	js, err := c.HGet(ctx, s.exchangeKey(name), "def").Result()
	if errors.Is(err, goredis.Nil) {
		return route.Exchange{}, false, nil
	}
	if err != nil {
		return route.Exchange{}, false, err
	}
	var def route.Exchange
	if err := json.Unmarshal([]byte(js), &def); err != nil || def.Name != name {
		s.log.Warn("redis: ignoring an unreadable exchange record", "exchange", name)
		return route.Exchange{}, false, nil
	}
	s.rememberKind(name, def.Kind)
	return def, true, nil
}

func (s *store) rememberKind(name string, k route.Kind) {
	s.mu.Lock()
	s.kinds[name] = string(k)
	s.mu.Unlock()
}
