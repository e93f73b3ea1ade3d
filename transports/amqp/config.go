package amqp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// Defaults of the zero-valued [Config] fields.
const (
	DefaultHost           = "localhost"
	DefaultPort           = 5672
	DefaultTLSPort        = 5671
	DefaultUsername       = "guest"
	DefaultPassword       = "guest"
	DefaultVhost          = "/"
	DefaultHeartbeat      = 10 * time.Second
	DefaultConnectTimeout = 5 * time.Second
	DefaultChannelMax     = 2047
	DefaultFrameMax       = 131072
)

// The SASL mechanisms [Config.AuthMechanism] accepts.
const (
	AuthPlain    = "PLAIN"
	AuthAMQPlain = "AMQPLAIN"
	AuthExternal = "EXTERNAL"
)

// Config is everything a [Connector] needs to dial RabbitMQ. The zero value
// dials amqp://guest:guest@localhost:5672/ with the defaults below; each
// field documents its own. [ParseURL] builds one from a Kombu-style URL.
type Config struct {
	// Host is the broker's host name or IP address. Default "localhost".
	Host string
	// Port is the broker's TCP port. Default 5672, or 5671 with TLS.
	Port int
	// Username and Password are the credentials. Default "guest" for both.
	// An empty Password is sent as "guest" only when Username is empty too.
	Username string
	Password string
	// Vhost is the virtual host. Default "/".
	Vhost string

	// TLS, when not nil, turns TLS on (amqps). Connect uses a clone with
	// ServerName defaulting to Host and MinVersion to TLS 1.2, and with the
	// files below loaded into it. InsecureSkipVerify is honoured as given;
	// ParseURL sets it only when the URL explicitly asks (ssl_cert_reqs=
	// CERT_NONE or verify=verify_none).
	TLS *tls.Config
	// CACertFile is a PEM file of CA certificates to verify the broker with,
	// instead of the system roots. Read on every Connect. Needs TLS.
	CACertFile string
	// CertFile and KeyFile are a PEM client certificate and its key, read on
	// every Connect. Both or neither; need TLS.
	CertFile string
	KeyFile  string

	// Heartbeat is the heartbeat interval to propose. The broker and client
	// settle on the smaller of the two proposals, in whole seconds (a
	// fraction is rounded up). Default [DefaultHeartbeat]. Negative means
	// "take the broker's interval" (RabbitMQ's default is 60s); amqp091-go
	// cannot turn heartbeats off when the broker proposes them.
	Heartbeat time.Duration
	// ConnectTimeout bounds dialling plus the TLS and AMQP handshakes, in
	// addition to the ctx given to Connect. Default [DefaultConnectTimeout]
	// (Kombu's connect_timeout).
	ConnectTimeout time.Duration
	// ChannelMax is the most channels to allow on a connection, 1 to 65535;
	// the broker may lower it. Default [DefaultChannelMax].
	ChannelMax int
	// FrameMax is the largest frame to allow, in bytes, at least 4096; the
	// broker may lower it. Default [DefaultFrameMax] (RabbitMQ's default).
	FrameMax int
	// AuthMechanism is the SASL mechanism: [AuthPlain] (the default),
	// [AuthAMQPlain] or [AuthExternal] (client certificate, with TLS).
	AuthMechanism string

	// ClientProperties are extra client properties to announce to the
	// broker, added to kelp's (product, version, platform, information,
	// connection_name) and overriding them. Values follow the header rules.
	// amqp091-go always sets "capabilities" itself.
	ClientProperties route.Table

	// Dial opens the network connection. Nil means a net.Dialer. It must
	// honour ctx, which carries ConnectTimeout.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// withDefaults returns c with every zero-valued field set to its default.
// It is the one place defaults are applied.
func (c Config) withDefaults() Config {
	if c.Host == "" {
		c.Host = DefaultHost
	}
	if c.Port == 0 {
		c.Port = DefaultPort
		if c.TLS != nil {
			c.Port = DefaultTLSPort
		}
	}
	if c.Username == "" && c.Password == "" {
		c.Username, c.Password = DefaultUsername, DefaultPassword
	}
	if c.Vhost == "" {
		c.Vhost = DefaultVhost
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.ChannelMax == 0 {
		c.ChannelMax = DefaultChannelMax
	}
	if c.FrameMax == 0 {
		c.FrameMax = DefaultFrameMax
	}
	if c.AuthMechanism == "" {
		c.AuthMechanism = AuthPlain
	}
	return c
}

// Validate reports every problem of c (after defaults), joined, each
// wrapping [ErrInvalidConfig]. Error texts never contain the password.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if c.Port < 1 || c.Port > math.MaxUint16 {
		bad("port %d out of range 1..65535", c.Port)
	}
	if len(c.Vhost) > 255 {
		bad("vhost is %d bytes long, the limit is 255", len(c.Vhost))
	}
	if c.ConnectTimeout < 0 {
		bad("connect timeout %v is negative", c.ConnectTimeout)
	}
	if c.ChannelMax < 1 || c.ChannelMax > math.MaxUint16 {
		bad("channel max %d out of range 1..65535", c.ChannelMax)
	}
	if c.FrameMax < 4096 || int64(c.FrameMax) > math.MaxUint32 {
		bad("frame max %d out of range 4096..4294967295", c.FrameMax)
	}
	if c.Heartbeat > math.MaxUint16*time.Second {
		bad("heartbeat %v is longer than 65535s", c.Heartbeat)
	}
	switch c.AuthMechanism {
	case AuthPlain, AuthAMQPlain:
	case AuthExternal:
		if c.TLS == nil {
			bad("auth mechanism EXTERNAL needs TLS")
		}
	default:
		bad("unknown auth mechanism %q (want PLAIN, AMQPLAIN or EXTERNAL)", c.AuthMechanism)
	}
	if c.TLS == nil && (c.CACertFile != "" || c.CertFile != "" || c.KeyFile != "") {
		bad("CA and client certificate files need TLS (amqps:// or ssl=true)")
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		bad("a client certificate needs both a certificate file and a key file")
	}
	if _, err := toAMQPTable("client properties", c.ClientProperties); err != nil {
		bad("%v", err)
	}
	return errors.Join(errs...)
}

// address returns host:port to dial.
func (c Config) address() string {
	return net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// redactedURL returns c as a URL with the password redacted, for Address
// and error messages.
func (c Config) redactedURL() string {
	u := url.URL{Scheme: "amqp", Host: c.address()}
	if c.TLS != nil {
		u.Scheme = "amqps"
	}
	if c.Password != "" {
		u.User = url.UserPassword(c.Username, "***")
	} else if c.Username != "" {
		u.User = url.User(c.Username)
	}
	// Kombu's form: one "/" then the vhost, escaped ("amqp://h//" is "/").
	u.Path = "/" + c.Vhost
	u.RawPath = "/" + url.PathEscape(c.Vhost)
	return strings.Replace(u.String(), "%2A%2A%2A@", "***@", 1)
}

// ParseURL parses a Kombu-style AMQP URL into a Config:
//
//	amqp://user:pass@host:port/vhost?query
//
// The scheme is amqp (plain), amqps (TLS), or one of Kombu's aliases pyamqp
// and librabbitmq (plain). Missing parts take the [Config] defaults. As in
// Kombu exactly one leading "/" is stripped from the path and the rest is
// the percent-decoded vhost, so "amqp://h//" and "amqp://h/%2F" name vhost
// "/", "amqp://h/" and "amqp://h" the default "/", and "amqp://h/v" vhost
// "v". User name and password are percent-decoded.
//
// Query keys (Kombu's names first, RabbitMQ URI spec aliases after):
//
//	heartbeat                     seconds (0: take the broker's interval)
//	connect_timeout               seconds, or a Go duration ("1500ms")
//	connection_timeout            milliseconds (RabbitMQ URI spec)
//	channel_max                   integer
//	frame_max                     bytes
//	login_method, auth_mechanism  PLAIN, AMQPLAIN or EXTERNAL
//	ssl                           true/false: TLS on a plain scheme
//	ssl_ca_certs, cacertfile, cacert          CA file (PEM)
//	ssl_certfile, certfile                    client certificate (PEM)
//	ssl_keyfile, keyfile                      client key (PEM)
//	ssl_server_hostname, server_name, server_name_indication
//	ssl_cert_reqs                 CERT_REQUIRED/required, CERT_OPTIONAL/optional
//	                              (both verify), CERT_NONE/none (no verification)
//	verify                        verify_peer or verify_none
//	insecure_skip_verify          true: no verification
//
// Any ssl_* or TLS file key turns TLS on. Certificate verification is on
// unless a key above turns it off explicitly. Unknown keys, repeated keys and
// bad values are errors. Every error wraps [transports.ErrInvalidURL] and
// never contains the password.
func ParseURL(rawURL string) (Config, error) {
	red := transports.RedactURL(rawURL)
	fail := func(format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("%w: %s: "+format, append([]any{transports.ErrInvalidURL, red}, args...)...)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error quotes the URL, password included: report the cause only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fail("%v", err)
	}
	if u.Opaque != "" {
		// Not redactable reliably: leave the URL out.
		return Config{}, fmt.Errorf("%w: want %s://host..., not %s:...", transports.ErrInvalidURL, u.Scheme, u.Scheme)
	}
	var c Config
	switch strings.ToLower(u.Scheme) {
	case "amqp", "pyamqp", "librabbitmq":
	case "amqps":
		c.TLS = &tls.Config{}
	case "":
		return fail("missing scheme (want amqp:// or amqps://)")
	default:
		return fail("scheme %q is not AMQP (want amqp, amqps, pyamqp or librabbitmq)", u.Scheme)
	}
	if u.Fragment != "" {
		return fail("URL fragments (#...) are not allowed")
	}
	c.Host = u.Hostname()
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > math.MaxUint16 {
			return fail("port %q out of range 1..65535", p)
		}
		c.Port = n
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
		if c.Username == "" {
			c.Username = DefaultUsername
		}
		if c.Password == "" {
			c.Password = DefaultPassword
		}
	}
	c.Vhost = strings.TrimPrefix(u.Path, "/")

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return fail("query: %v", err)
	}
	if err := applyQuery(&c, q); err != nil {
		return fail("%v", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%w: %s: %w", transports.ErrInvalidURL, red, err)
	}
	return c, nil
}

// applyQuery reads the query keys of [ParseURL] into c.
func applyQuery(c *Config, q url.Values) error {
	var useTLS, insecure bool
	var serverName string
	seen := map[string]string{} // canonical setting → key that set it
	for key, vals := range q {
		if len(vals) != 1 {
			return fmt.Errorf("query key %q given %d times", key, len(vals))
		}
		v := vals[0]
		setting, ok := queryKeys[strings.ToLower(key)]
		if !ok {
			return fmt.Errorf("unknown query key %q", key)
		}
		group := setting
		if group == "connection_timeout" {
			group = "connect_timeout" // the same setting in milliseconds
		}
		if prev, dup := seen[group]; dup {
			return fmt.Errorf("query keys %q and %q set the same option", prev, key)
		}
		seen[group] = key
		var err error
		switch setting {
		case "heartbeat":
			var d time.Duration
			if d, err = parseSeconds(v, false); err == nil {
				c.Heartbeat = d
				if d == 0 {
					c.Heartbeat = -1
				}
			}
		case "connect_timeout":
			c.ConnectTimeout, err = parseSeconds(v, true)
		case "connection_timeout":
			var ms int64
			if ms, err = strconv.ParseInt(v, 10, 64); err == nil && ms <= 0 {
				err = errors.New("must be positive")
			}
			c.ConnectTimeout = time.Duration(ms) * time.Millisecond
		case "channel_max":
			c.ChannelMax, err = strconv.Atoi(v)
		case "frame_max":
			c.FrameMax, err = strconv.Atoi(v)
		case "auth":
			c.AuthMechanism = strings.ToUpper(v)
		case "ssl":
			useTLS, err = strconv.ParseBool(v)
		case "ca":
			c.CACertFile, useTLS = v, true
		case "cert":
			c.CertFile, useTLS = v, true
		case "key":
			c.KeyFile, useTLS = v, true
		case "server_name":
			serverName, useTLS = v, true
		case "cert_reqs":
			useTLS = true
			switch strings.ToLower(v) {
			case "cert_required", "required", "cert_optional", "optional":
			case "cert_none", "none":
				insecure = true
			default:
				err = errors.New("want CERT_REQUIRED, CERT_OPTIONAL or CERT_NONE")
			}
		case "verify":
			useTLS = true
			switch strings.ToLower(v) {
			case "verify_peer":
			case "verify_none":
				insecure = true
			default:
				err = errors.New("want verify_peer or verify_none")
			}
		case "insecure":
			var b bool
			if b, err = strconv.ParseBool(v); b {
				insecure, useTLS = true, true
			}
		}
		if err != nil {
			return fmt.Errorf("query key %q=%q: %w", key, v, err)
		}
	}
	if useTLS && c.TLS == nil {
		c.TLS = &tls.Config{}
	}
	if c.TLS != nil {
		c.TLS.ServerName = serverName
		c.TLS.InsecureSkipVerify = insecure
	}
	return nil
}

// queryKeys maps every accepted query key (lower case) to the setting it
// sets; aliases share a setting.
var queryKeys = map[string]string{
	"heartbeat":              "heartbeat",
	"connect_timeout":        "connect_timeout",
	"connection_timeout":     "connection_timeout",
	"channel_max":            "channel_max",
	"frame_max":              "frame_max",
	"login_method":           "auth",
	"auth_mechanism":         "auth",
	"ssl":                    "ssl",
	"ssl_ca_certs":           "ca",
	"cacertfile":             "ca",
	"cacert":                 "ca",
	"ssl_certfile":           "cert",
	"certfile":               "cert",
	"ssl_keyfile":            "key",
	"keyfile":                "key",
	"ssl_server_hostname":    "server_name",
	"server_name":            "server_name",
	"server_name_indication": "server_name",
	"ssl_cert_reqs":          "cert_reqs",
	"verify":                 "verify",
	"insecure_skip_verify":   "insecure",
}

// parseSeconds reads a number of seconds ("5", "2.5") or a Go duration
// ("1500ms"). It refuses negative values, and zero when positive is set.
func parseSeconds(s string, positive bool) (time.Duration, error) {
	var d time.Duration
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || f > float64(math.MaxInt64/int64(time.Second)) {
			return 0, errors.New("not a finite number of seconds")
		}
		d = time.Duration(f * float64(time.Second))
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, errors.New("not a number of seconds or a duration")
	}
	switch {
	case d < 0:
		return 0, errors.New("must not be negative")
	case d == 0 && positive:
		return 0, errors.New("must be positive")
	}
	return d, nil
}
