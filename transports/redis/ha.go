package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/kelpmq/kelp/transports"
)

// This file holds what Redis Sentinel and Redis Cluster add to the
// single-server transport: their URLs, their validation and their
// go-redis clients. The store sees only a goredis.UniversalClient.

// multiURL is a URL that names several hosts: Sentinels or Cluster seed
// nodes.
type multiURL struct {
	user  *url.Userinfo
	hosts []string // as written, ports not yet defaulted
	path  string
	query url.Values
}

// parseMulti splits a sentinel:// or redis+cluster:// URL. Sentinel URLs
// may be Kombu's ";"-separated list, each element with its own scheme or
// none; both kinds may list hosts separated by ",". The credentials, path
// and query may sit on any element (Kombu's examples put the path and
// query on the last), but two elements may not disagree.
func parseMulti(raw, scheme string) (multiURL, error) {
	var m multiURL
	segments := []string{raw}
	if !strings.HasSuffix(scheme, "cluster") {
		segments = strings.Split(raw, ";")
	}
	var userinfo string
	for i, seg := range segments {
		seg = strings.TrimSpace(seg)
		if seg == "" {
			continue
		}
		if sch, rest, ok := strings.Cut(seg, "://"); ok {
			if !strings.EqualFold(sch, scheme) && (i == 0 || !sameFamily(sch, scheme)) {
				return m, fmt.Errorf("element %d has scheme %q in a %s URL", i+1, sch, scheme)
			}
			seg = rest
		}
		authority, tail := seg, ""
		if j := strings.IndexAny(seg, "/?"); j >= 0 {
			authority, tail = seg[:j], seg[j:]
		}
		if at := strings.LastIndex(authority, "@"); at >= 0 {
			if userinfo != "" && userinfo != authority[:at] {
				return m, errors.New("two elements give different credentials")
			}
			userinfo, authority = authority[:at], authority[at+1:]
		}
		for h := range strings.SplitSeq(authority, ",") {
			if authority == "" {
				break // no host here; "no host" below if none anywhere
			}
			if h = strings.TrimSpace(h); h == "" {
				return m, errors.New("empty host in the host list")
			}
			m.hosts = append(m.hosts, h)
		}
		if tail == "" {
			continue
		}
		// Let net/url unescape the path and the query.
		u, err := url.Parse("x://h" + tail)
		if err != nil {
			return m, errors.New("cannot parse")
		}
		if p := strings.Trim(u.Path, "/"); p != "" {
			if m.path != "" && m.path != p {
				return m, fmt.Errorf("two elements give different databases (%q, %q)", m.path, p)
			}
			m.path = p
		}
		if m.query == nil {
			m.query = url.Values{}
		}
		for k, vs := range u.Query() {
			m.query[k] = append(m.query[k], vs...)
		}
	}
	if userinfo != "" {
		u, err := url.Parse("x://" + userinfo + "@h")
		if err != nil || u.User == nil {
			return m, errors.New("cannot parse the credentials")
		}
		m.user = u.User
	}
	// go-redis's cluster URLs name further nodes as addr=host:port.
	if strings.HasSuffix(scheme, "cluster") {
		m.hosts = append(m.hosts, m.query["addr"]...)
		delete(m.query, "addr")
	}
	if len(m.hosts) == 0 {
		return m, errors.New("no host")
	}
	return m, nil
}

// sameFamily reports whether a later element's scheme may join a list
// that started with scheme: the two spellings of a Sentinel URL mix.
func sameFamily(a, b string) bool {
	isSentinel := func(s string) bool {
		return strings.EqualFold(s, "sentinel") || strings.EqualFold(s, "redis+sentinel")
	}
	return isSentinel(a) && isSentinel(b)
}

// config turns m into a Config of the scheme's kind (no options yet).
func (m multiURL) config(scheme string) (Config, error) {
	var c Config
	defPort := "6379"
	if !strings.HasSuffix(scheme, "cluster") {
		defPort = DefaultSentinelPort
	}
	addrs := make([]string, len(m.hosts))
	for i, h := range m.hosts {
		a, err := hostPort(h, defPort)
		if err != nil {
			return c, err
		}
		addrs[i] = a
	}
	if strings.HasSuffix(scheme, "cluster") {
		c.ClusterAddrs = addrs
		if scheme == "rediss+cluster" {
			host, _, _ := net.SplitHostPort(addrs[0])
			c.TLS = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
	} else {
		c.SentinelAddrs = addrs
	}
	var err error
	if c.DB, err = parseDB(m.path); err != nil {
		return c, err
	}
	if m.user != nil {
		c.Username = m.user.Username()
		c.Password, _ = m.user.Password()
	}
	return c, nil
}

// hostPort checks host[:port] and adds defPort when there is no port.
func hostPort(h, defPort string) (string, error) {
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		// No port: a bare name or address, IPv6 in brackets or not.
		host, port = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), defPort
	}
	if host == "" || strings.ContainsAny(host, "/?#@ ") {
		return "", fmt.Errorf("bad host %q", h)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", fmt.Errorf("bad port %q", port)
	}
	return net.JoinHostPort(host, port), nil
}

// validateHA reports a Sentinel or Cluster setting that cannot work.
func (c Config) validateHA() error {
	switch {
	case c.sentinel() && c.cluster():
		return errors.New("both SentinelAddrs and ClusterAddrs are set")
	case c.sentinel() && c.MasterName == "":
		return errors.New("a Sentinel setup needs the master's name (MasterName, URL option master_name)")
	case !c.sentinel() && (c.MasterName != "" || c.SentinelUsername != "" || c.SentinelPassword != ""):
		return errors.New("MasterName and the Sentinel credentials need SentinelAddrs")
	case (c.sentinel() || c.cluster()) && c.Network == "unix":
		return errors.New("Sentinel and Cluster setups are tcp only")
	case c.cluster() && c.DB != 0:
		return fmt.Errorf("a Redis Cluster has only database 0, not %d", c.DB)
	case c.cluster() && c.GlobalKeyPrefix != "" && !hasHashTag(c.GlobalKeyPrefix):
		return fmt.Errorf("global key prefix %q has no hash tag: in a Redis Cluster it must hold one, such as %q, so that all of kelp's keys share the slot its scripts need", c.GlobalKeyPrefix, DefaultClusterKeyPrefix)
	}
	return nil
}

// hasHashTag reports whether every key that starts with prefix hashes by
// a tag inside prefix: Redis hashes the text between the first "{" and
// the next "}", when it is not empty.
func hasHashTag(prefix string) bool {
	_, rest, ok := strings.Cut(prefix, "{")
	if !ok {
		return false
	}
	end := strings.IndexByte(rest, '}')
	return end > 0
}

// newClient returns the go-redis client for the Connector's setup: a
// Sentinel-managed master's, a Cluster's or a single server's.
func (c *Connector) newClient(name string) goredis.UniversalClient {
	closed, stop := context.WithCancel(context.Background())
	return closingClient{UniversalClient: c.dialingClient(name, closed), stop: stop}
}

// dialingClient returns the go-redis client for cfg, dialling through a
// [dialer] that stops when closed ends.
func (c *Connector) dialingClient(name string, closed context.Context) goredis.UniversalClient {
	cfg := c.cfg
	o := c.clientOptions(name)
	o.Dialer = (&dialer{closed: closed, timeout: o.DialTimeout, tls: o.TLSConfig}).dial
	switch {
	case cfg.sentinel():
		return goredis.NewFailoverClient(&goredis.FailoverOptions{
			Dialer:           o.Dialer,
			MasterName:       cfg.MasterName,
			SentinelAddrs:    cfg.SentinelAddrs,
			SentinelUsername: cfg.SentinelUsername,
			SentinelPassword: cfg.SentinelPassword,
			ClientName:       o.ClientName,
			Username:         o.Username,
			Password:         o.Password,
			DB:               o.DB,
			TLSConfig:        o.TLSConfig,
			DialTimeout:      o.DialTimeout,
			ReadTimeout:      o.ReadTimeout,
			WriteTimeout:     o.WriteTimeout,
			PoolSize:         o.PoolSize,
			MaxRetries:       o.MaxRetries,
			DisableIdentity:  o.DisableIdentity,
		})
	case cfg.cluster():
		return goredis.NewClusterClient(&goredis.ClusterOptions{
			Dialer:          o.Dialer,
			Addrs:           cfg.ClusterAddrs,
			ClientName:      o.ClientName,
			Username:        o.Username,
			Password:        o.Password,
			TLSConfig:       o.TLSConfig,
			DialTimeout:     o.DialTimeout,
			ReadTimeout:     o.ReadTimeout,
			WriteTimeout:    o.WriteTimeout,
			PoolSize:        o.PoolSize,
			MaxRetries:      o.MaxRetries,
			DisableIdentity: o.DisableIdentity,
		})
	}
	return goredis.NewClient(o)
}

// haAddress returns the URL of a Sentinel or Cluster setup, password
// redacted, and false for a single server.
func (c *Connector) haAddress() (string, bool) {
	cfg := c.cfg
	var user string
	switch {
	case cfg.Password != "":
		user = url.UserPassword(cfg.Username, "***").String() + "@"
	case cfg.Username != "":
		user = url.User(cfg.Username).String() + "@"
	}
	switch {
	case cfg.sentinel():
		parts := make([]string, len(cfg.SentinelAddrs))
		for i, a := range cfg.SentinelAddrs {
			parts[i] = "sentinel://" + a
		}
		parts[0] = "sentinel://" + user + cfg.SentinelAddrs[0]
		return strings.Join(parts, ";") + "/" + strconv.Itoa(cfg.DB) + "?master_name=" + url.QueryEscape(cfg.MasterName), true
	case cfg.cluster():
		scheme := "redis+cluster://"
		if cfg.TLS != nil {
			scheme = "rediss+cluster://"
		}
		return scheme + user + strings.Join(cfg.ClusterAddrs, ","), true
	}
	return "", false
}

// secretOption matches the query options that carry a password.
var secretOption = regexp.MustCompile(`(?i)(sentinel_password=)[^&;#]*`)

// redactURLs redacts the passwords of every element of a ";"-separated
// URL, and of the options that hold one.
func redactURLs(raw string) string {
	parts := strings.Split(raw, ";")
	for i, p := range parts {
		if strings.Contains(p, "://") {
			parts[i] = transports.RedactURL(p)
		} else {
			// RedactURL finds a password only after "://": lend it one.
			parts[i] = strings.TrimPrefix(transports.RedactURL("x://"+p), "x://")
		}
	}
	return secretOption.ReplaceAllString(strings.Join(parts, ";"), "${1}***")
}
