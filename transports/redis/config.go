package redis

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kelpmq/kelp/transports"
)

// Defaults of the zero-valued Config fields.
const (
	DefaultAddr              = "127.0.0.1:6379"
	DefaultVisibilityTimeout = time.Hour
	DefaultPollInterval      = 200 * time.Millisecond
	DefaultRestoreInterval   = 10 * time.Second
	DefaultMaxConnections    = 64
	// DefaultUnackedMutexExpire is Kombu's unacked_mutex_expire: how long
	// the visibility-restore lock lives when its holder dies holding it.
	DefaultUnackedMutexExpire = 300 * time.Second
	// DefaultHealthCheckInterval is Kombu's health_check_interval: how
	// often a live client PINGs the server.
	DefaultHealthCheckInterval = 25 * time.Second
	// DefaultSentinelPort is the port of a Sentinel address without one.
	DefaultSentinelPort = "26379"
	// DefaultClusterKeyPrefix is the global key prefix in a Redis Cluster
	// when none is given: its hash tag puts every key in one slot.
	DefaultClusterKeyPrefix = "{kelp}."
)

// Kombu's fixed key names (before the global key prefix) and separator.
const (
	// Sep separates a queue name from its priority step and the three
	// parts of a binding member ("\x06\x16", Kombu's sep).
	Sep = "\x06\x16"
	// BindingPrefix starts the key of an exchange's binding set.
	BindingPrefix = "_kombu.binding."
	// UnackedKey is the hash of unacknowledged messages (tag → JSON
	// [envelope, exchange, routing_key]).
	UnackedKey = "unacked"
	// UnackedIndexKey is the sorted set of unacknowledged delivery tags,
	// scored by delivery time in Unix seconds.
	UnackedIndexKey = "unacked_index"
	// UnackedMutexKey is the lock that guards the visibility-timeout
	// restore.
	UnackedMutexKey = "unacked_mutex"
	// ClaimQueueKey is kelp's own hash (tag → queue name) that records the
	// queue each unacknowledged message came from, so that a restore puts
	// it back exactly there. Kombu ignores it.
	ClaimQueueKey = "_kelp.unacked_queue"
	// ExchangePrefix starts the key of kelp's record of an exchange's
	// declaration (a hash with its type), which lets a process that did not
	// declare the exchange route to it. Kombu ignores it.
	ExchangePrefix = "_kelp.exchange."
	// UnreadableKey is the list that receives elements of a queue that are
	// not a JSON envelope, so they are neither lost nor retried forever.
	UnreadableKey = "_kelp.unreadable"
)

// Config holds the settings of a [Connector]. The zero value connects to
// 127.0.0.1:6379, database 0, with Kombu's defaults.
type Config struct {
	// Network is "tcp" (the default) or "unix".
	Network string
	// Addr is host:port for tcp (default 127.0.0.1:6379), or the socket
	// path for unix.
	Addr string
	// Username and Password authenticate (Redis 6 ACL user, or only a
	// password for requirepass).
	Username string
	Password string
	// DB is the database number (Kombu's virtual host).
	DB int
	// TLS, when not nil, makes the connection use TLS (rediss://).
	TLS *tls.Config

	// GlobalKeyPrefix is prepended to every key and PUB/SUB channel, as
	// Kombu's global_keyprefix transport option.
	GlobalKeyPrefix string
	// VisibilityTimeout is how long an unacknowledged message whose
	// consumer stopped refreshing it stays claimed before any process may
	// restore it to its queue. Zero means one hour (Kombu's default). kelp
	// refreshes the claims of live consumers, so a long-running handler is
	// never duplicated; only a dead process's claims age.
	VisibilityTimeout time.Duration
	// PrioritySteps are the priority buckets, ascending, starting at 0.
	// Nil means Kombu's [0 3 6 9].
	PrioritySteps []int
	// FanoutPrefix is the prefix of fanout PUB/SUB channels. Empty means
	// Kombu's default "/<db>."; NoFanoutPrefix true means none (Kombu's
	// fanout_prefix=False).
	FanoutPrefix   string
	NoFanoutPrefix bool
	// NoFanoutPatterns false (the default, Kombu's fanout_patterns=True)
	// publishes a fanout message with a routing key on the channel
	// <prefix><exchange>/<routing_key>, and without one on
	// <prefix><exchange>; true (fanout_patterns=False) always uses the
	// bare channel. kelp consumers receive both; Python consumers whose
	// binding key is empty receive only the bare channel.
	NoFanoutPatterns bool
	// DurableFanout false (the default) fans fanout exchanges out as Kombu
	// does, over PUB/SUB, so Python peers (Celery's pidbox and broadcasts)
	// interoperate; a message published while a queue has no consumer in
	// any process is not kept for it. True routes fanout messages into
	// every bound queue's list instead (durable, like the other kinds and
	// like AMQP), which only kelp consumers read: Python consumers of a
	// fanout-bound queue never read its list. URL option fanout_durable.
	DurableFanout bool

	// SocketTimeout bounds each read and write (zero: go-redis's default of
	// 3 s). SocketConnectTimeout bounds dialing (zero: 5 s).
	SocketTimeout        time.Duration
	SocketConnectTimeout time.Duration
	// PollInterval is how long a waiting consumer blocks in Redis before
	// it looks at every priority step again and notices a cancel. Zero
	// means 200ms.
	PollInterval time.Duration
	// RestoreInterval is how often a process looks for claims older than
	// VisibilityTimeout to restore. Zero means 10 s (or VisibilityTimeout/2
	// when that is shorter).
	RestoreInterval time.Duration
	// UnackedMutexExpire is the expiry of unacked_mutex, the lock a
	// process holds while it restores stale claims (Kombu's
	// unacked_mutex_expire). A process that dies holding the lock blocks
	// every restore, Kombu's included, until it expires; a restore pass
	// also stops when it has held the lock this long. Zero means 300 s
	// (Kombu's default).
	UnackedMutexExpire time.Duration
	// MaxConnections is the size of the connection pool shared by the
	// Conns of a Connector. Every waiting consumer holds one connection.
	// Zero means 64.
	MaxConnections int
	// ClientName is given to Redis with CLIENT SETNAME when
	// transports.ConnectOptions.Name is empty.
	ClientName string

	// HealthCheckInterval is how often the live client PINGs the server
	// (Kombu's health_check_interval), so that Conns with nothing to do
	// notice a dead or hung server: a PING that fails (within
	// SocketTimeout) kills every Conn with an error wrapping
	// transports.ErrConnLost. Zero means 25 s; NoHealthCheck true turns
	// the check off (URL option health_check_interval=0).
	HealthCheckInterval time.Duration
	NoHealthCheck       bool

	// SentinelAddrs, when not empty, are the host:port addresses of Redis
	// Sentinels: the Connector asks them for the master named MasterName
	// and follows it through failovers; Network and Addr are ignored.
	// Username, Password and DB are the master's. SentinelUsername and
	// SentinelPassword authenticate to the Sentinels themselves (Kombu's
	// sentinel_kwargs); empty means none.
	SentinelAddrs    []string
	MasterName       string
	SentinelUsername string
	SentinelPassword string

	// ClusterAddrs, when not empty, are host:port addresses of some nodes
	// of a Redis Cluster (the client learns the others); Network and Addr
	// are ignored, DB must be 0, and GlobalKeyPrefix must hold a hash tag
	// ("{...}") so that all of kelp's keys share one slot, which its
	// scripts need; it defaults to "{kelp}.". Python Kombu has no Cluster
	// support and cannot share these queues.
	ClusterAddrs []string
}

// sentinel reports whether c finds its master through Sentinels.
func (c Config) sentinel() bool { return len(c.SentinelAddrs) > 0 }

// cluster reports whether c connects to a Redis Cluster.
func (c Config) cluster() bool { return len(c.ClusterAddrs) > 0 }

// withDefaults returns c with its zero values replaced by the defaults.
func (c Config) withDefaults() Config {
	if c.Network == "" {
		c.Network = "tcp"
	}
	if c.Addr == "" && c.Network == "tcp" {
		c.Addr = DefaultAddr
	}
	if c.VisibilityTimeout == 0 {
		c.VisibilityTimeout = DefaultVisibilityTimeout
	}
	if c.PrioritySteps == nil {
		c.PrioritySteps = []int{0, 3, 6, 9}
	}
	if c.FanoutPrefix == "" && !c.NoFanoutPrefix {
		c.FanoutPrefix = "/" + strconv.Itoa(c.DB) + "."
	}
	if c.NoFanoutPrefix {
		c.FanoutPrefix = ""
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.RestoreInterval == 0 {
		c.RestoreInterval = min(DefaultRestoreInterval, c.VisibilityTimeout/2)
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.UnackedMutexExpire == 0 {
		c.UnackedMutexExpire = DefaultUnackedMutexExpire
	}
	if c.HealthCheckInterval == 0 {
		c.HealthCheckInterval = DefaultHealthCheckInterval
	}
	if c.cluster() && c.GlobalKeyPrefix == "" {
		c.GlobalKeyPrefix = DefaultClusterKeyPrefix
	}
	return c
}

// ErrInvalidConfig wraps every error of [Config.Validate].
var ErrInvalidConfig = errors.New("redis: invalid config")

// Validate reports a Config that cannot work. Zero values are valid.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	switch {
	case c.Network != "" && c.Network != "tcp" && c.Network != "unix":
		return bad("network %q (want tcp or unix)", c.Network)
	case c.Network == "unix" && c.Addr == "":
		return bad("a unix socket needs a path")
	case c.DB < 0:
		return bad("database %d is negative", c.DB)
	case c.VisibilityTimeout < 0, c.SocketTimeout < 0, c.SocketConnectTimeout < 0,
		c.PollInterval < 0, c.RestoreInterval < 0, c.UnackedMutexExpire < 0, c.HealthCheckInterval < 0:
		return bad("negative duration")
	case c.MaxConnections < 0:
		return bad("max connections %d is negative", c.MaxConnections)
	case c.FanoutPrefix != "" && (!strings.HasPrefix(c.FanoutPrefix, "/") || !strings.HasSuffix(c.FanoutPrefix, ".")):
		return bad("fanout prefix %q must start with / and end with .", c.FanoutPrefix)
	}
	if err := c.validateHA(); err != nil {
		return bad("%v", err)
	}
	if c.PrioritySteps != nil {
		if len(c.PrioritySteps) == 0 || c.PrioritySteps[0] != 0 {
			return bad("priority steps %v must start at 0", c.PrioritySteps)
		}
		for i, s := range c.PrioritySteps {
			if s > 9 || (i > 0 && s <= c.PrioritySteps[i-1]) {
				return bad("priority steps %v must ascend within 0..9", c.PrioritySteps)
			}
		}
	}
	return nil
}

// ParseURL parses a Kombu Redis URL into a Config:
//
//	redis://[[user]:password@]host[:port][/db][?options]
//	rediss://...          (TLS; ssl_cert_reqs=none skips verification)
//	redis+socket:///path/to/socket[?virtual_host=db&options]
//	sentinel://[[user]:password@]host[:port][;sentinel://host2[:port2]...][/db]?master_name=name[&options]
//	redis+cluster://[[user]:password@]host:port[,host2:port2...][?options]
//	rediss+cluster://...  (TLS)
//
// The database is Kombu's virtual host: "" or "/" mean 0. Options (all
// optional) are Kombu's transport options: global_keyprefix,
// visibility_timeout (seconds), priority_steps (comma-separated),
// fanout_prefix (true, false, or a prefix), fanout_patterns (true or
// false), socket_timeout and
// socket_connect_timeout (seconds), polling_interval (seconds),
// max_connections, client_name, ssl_cert_reqs, unacked_mutex_expire
// (seconds), health_check_interval (seconds, 0 turns it off), and kelp's
// restore_interval (seconds) and fanout_durable (true or false).
//
// Sentinel URLs (Kombu's form; redis+sentinel:// is accepted too) list
// the Sentinels, separated by ";" (each element may repeat the scheme) or
// by ","; a Sentinel without a port is on 26379. The user and password are
// the master's; the option master_name is required, and
// sentinel_username and sentinel_password authenticate to the Sentinels.
// Cluster URLs list seed nodes separated by ",", or in go-redis's form as
// repeated addr=host:port options; see [Config.ClusterAddrs] for the key
// prefix a Cluster needs. Errors wrap [transports.ErrInvalidURL] and never
// contain the password.
func ParseURL(rawURL string) (Config, error) {
	red := redactURLs(rawURL)
	bad := func(format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("%w: redis: %s: "+format, append([]any{transports.ErrInvalidURL, red}, args...)...)
	}
	var c Config
	var q url.Values
	scheme, _, _ := strings.Cut(rawURL, "://")
	switch scheme = strings.ToLower(scheme); scheme {
	case "redis", "rediss", "redis+socket":
		u, err := url.Parse(rawURL)
		if err != nil {
			return bad("cannot parse")
		}
		if c, err = parseSingle(u); err != nil {
			return bad("%v", err)
		}
		q = u.Query()
	case "sentinel", "redis+sentinel", "redis+cluster", "rediss+cluster":
		m, err := parseMulti(rawURL, scheme)
		if err != nil {
			return bad("%v", err)
		}
		if c, err = m.config(scheme); err != nil {
			return bad("%v", err)
		}
		q = m.query
	default:
		return bad("scheme %q is not redis, rediss, redis+socket, sentinel or redis+cluster", scheme)
	}
	for k, vs := range q {
		v := vs[len(vs)-1]
		if err := c.applyOption(k, v); err != nil {
			if k == "sentinel_password" {
				v = "***"
			}
			return bad("option %s=%q: %v", k, v, err)
		}
	}
	if err := c.Validate(); err != nil {
		return bad("%v", err)
	}
	return c, nil
}

// parseSingle reads the address, database, credentials and TLS of a
// redis, rediss or redis+socket URL.
func parseSingle(u *url.URL) (Config, error) {
	var c Config
	switch strings.ToLower(u.Scheme) {
	case "redis", "rediss":
		c.Network = "tcp"
		host, port := u.Hostname(), u.Port()
		if host == "" {
			host = "127.0.0.1"
		}
		if port == "" {
			port = "6379"
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return c, fmt.Errorf("bad port %q", port)
		}
		c.Addr = net.JoinHostPort(host, port)
		var err error
		if c.DB, err = parseDB(u.Path); err != nil {
			return c, err
		}
		if strings.EqualFold(u.Scheme, "rediss") {
			c.TLS = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
	case "redis+socket":
		c.Network = "unix"
		c.Addr = u.Path
		if c.Addr == "" {
			return c, errors.New("no socket path (want redis+socket:///path)")
		}
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	return c, nil
}

// parseDB reads the database number of a URL path ("", "/" mean 0).
func parseDB(path string) (int, error) {
	db := strings.Trim(path, "/")
	if db == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(db)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("database %q is not a number", db)
	}
	return n, nil
}

// applyOption sets the Config field of URL option k.
func (c *Config) applyOption(k, v string) error {
	var err error
	switch k {
	case "global_keyprefix":
		c.GlobalKeyPrefix = v
	case "visibility_timeout":
		c.VisibilityTimeout, err = seconds(v)
	case "socket_timeout":
		c.SocketTimeout, err = seconds(v)
	case "socket_connect_timeout":
		c.SocketConnectTimeout, err = seconds(v)
	case "polling_interval":
		c.PollInterval, err = seconds(v)
	case "restore_interval":
		c.RestoreInterval, err = seconds(v)
	case "unacked_mutex_expire":
		c.UnackedMutexExpire, err = seconds(v)
	case "health_check_interval":
		c.HealthCheckInterval, err = seconds(v)
		c.NoHealthCheck = err == nil && c.HealthCheckInterval == 0
	case "max_connections":
		c.MaxConnections, err = strconv.Atoi(v)
	case "client_name":
		c.ClientName = v
	case "virtual_host":
		if c.DB, err = strconv.Atoi(strings.Trim(v, "/")); err == nil && c.DB < 0 {
			err = errors.New("negative")
		}
	case "priority_steps":
		c.PrioritySteps, err = steps(v)
	case "fanout_patterns":
		c.NoFanoutPatterns, err = falseFlag(v)
	case "fanout_durable":
		c.DurableFanout, err = strconv.ParseBool(v)
	case "fanout_prefix":
		switch strings.ToLower(v) {
		case "true", "1", "yes", "":
		case "false", "0", "no":
			c.NoFanoutPrefix = true
		default:
			c.FanoutPrefix = v
		}
	case "ssl_cert_reqs":
		if c.TLS == nil {
			return errors.New("needs rediss:// or rediss+cluster://")
		}
		switch strings.ToLower(v) {
		case "none", "cert_none":
			c.TLS.InsecureSkipVerify = true
		case "required", "cert_required", "optional", "cert_optional":
		default:
			err = errors.New("want none, optional or required")
		}
	case "master_name", "sentinel_username", "sentinel_password":
		if !c.sentinel() {
			return errors.New("only for sentinel:// URLs")
		}
		switch k {
		case "master_name":
			c.MasterName = v
		case "sentinel_username":
			c.SentinelUsername = v
		default:
			c.SentinelPassword = v
		}
	default:
		return errors.New("unknown option")
	}
	return err
}

// falseFlag parses a Python-style boolean and reports whether it is false.
func falseFlag(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "1", "yes":
		return false, nil
	case "false", "0", "no":
		return true, nil
	}
	return false, errors.New("want true or false")
}

// seconds parses a non-negative number of seconds, as Kombu's options are.
func seconds(v string) (time.Duration, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1e9 {
		return 0, errors.New("want a non-negative number of seconds")
	}
	return time.Duration(f * float64(time.Second)), nil
}

// steps parses "0,3,6,9" (brackets and spaces allowed).
func steps(v string) ([]int, error) {
	v = strings.Trim(v, "[] ")
	var out []int
	for f := range strings.SplitSeq(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, errors.New("want comma-separated integers")
		}
		out = append(out, n)
	}
	return slices.Clip(out), nil
}
