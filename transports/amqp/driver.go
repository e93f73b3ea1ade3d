package amqp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/kelpmq/kelp/transports"
)

// Schemes are the URL schemes this package registers: amqp and amqps, and
// Kombu's aliases for its AMQP transports, pyamqp and librabbitmq (both plain
// AMQP here, as in Kombu).
var Schemes = []string{"amqp", "amqps", "pyamqp", "librabbitmq"}

func init() {
	for _, s := range Schemes {
		transports.Register(s, Driver{})
	}
}

// Driver is the [transports.Driver] registered for [Schemes]. The zero value
// is ready to use.
type Driver struct{}

// OpenConnector parses rawURL with [ParseURL] and returns a Connector for
// it. It does no I/O: TLS files are read on every Connect.
func (Driver) OpenConnector(rawURL string) (transports.Connector, error) {
	cfg, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	return NewConnector(cfg)
}

// Connector dials RabbitMQ with a fixed [Config]. It is safe for concurrent
// use and may dial any number of connections.
type Connector struct {
	cfg Config // defaults applied
}

// NewConnector validates cfg, applies its defaults and returns a Connector.
// Errors wrap [ErrInvalidConfig].
func NewConnector(cfg Config) (*Connector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Connector{cfg: cfg.withDefaults()}, nil
}

// Config returns the Connector's configuration, with defaults applied.
func (c *Connector) Config() Config { return c.cfg }

// Address returns the URL this Connector dials, password redacted.
func (c *Connector) Address() string { return c.cfg.redactedURL() }

// Connect dials the broker, runs the TLS and AMQP handshakes and returns the
// connection. Dial and handshakes are bounded by ctx and by
// Config.ConnectTimeout; when either ends first the socket is closed and the
// error wraps ctx's error (or context.DeadlineExceeded for the timeout) and
// [transports.ErrConnLost]. A broker that cannot be reached gives
// [transports.ErrConnLost] wrapping the dial error; refused credentials
// give a *transports.Error with code 403; a vhost the user may not use
// gives the broker's code (530 NOT_ALLOWED on RabbitMQ).
func (c *Connector) Connect(ctx context.Context, opts transports.ConnectOptions) (transports.Conn, error) {
	cfg := c.cfg
	dctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	fail := func(err error) (transports.Conn, error) {
		return nil, fmt.Errorf("amqp: connect to %s: %w", c.Address(), err)
	}
	ctxFail := func(err error) (transports.Conn, error) {
		cause := context.Cause(dctx)
		if ctx.Err() == nil && errors.Is(cause, context.DeadlineExceeded) {
			cause = fmt.Errorf("connect timeout %v: %w", cfg.ConnectTimeout, cause)
		}
		return fail(fmt.Errorf("%w: %w (%v)", transports.ErrConnLost, cause, err))
	}

	tlsCfg, err := cfg.tlsConfig()
	if err != nil {
		return fail(err)
	}
	dial := cfg.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	raw, err := dial(dctx, "tcp", cfg.address())
	if err != nil {
		if dctx.Err() != nil {
			return ctxFail(err)
		}
		return fail(fmt.Errorf("%w: %w", transports.ErrConnLost, err))
	}
	// The handshakes take no ctx: closing the socket is how they are cut
	// short. After success the AfterFunc is stopped; if it already ran the
	// connection is unusable and is given up.
	stop := context.AfterFunc(dctx, func() { raw.Close() })
	var netConn net.Conn = raw
	if tlsCfg != nil {
		tc := tls.Client(raw, tlsCfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			stop()
			raw.Close()
			if dctx.Err() != nil {
				return ctxFail(err)
			}
			return fail(fmt.Errorf("%w: TLS handshake: %w", transports.ErrConnLost, err))
		}
		netConn = tc
	}

	ac, err := amqp091.Open(netConn, cfg.amqpConfig(opts.Name))
	if !stop() {
		// The deadline fired during the handshake, or just after it, and
		// closed the socket: amqp091's reader is shutting down.
		raw.Close()
		return ctxFail(errOr(err, errors.New("handshake interrupted")))
	}
	if err != nil {
		// Open leaves amqp091's reader running on the socket: closing it
		// ends the reader and the heartbeater.
		raw.Close()
		return fail(handshakeError(err))
	}
	return newConn(ac, raw, opts), nil
}

// handshakeError maps a failed amqp091 handshake. A refused login is
// 403 whether RabbitMQ said so or just closed the socket (amqp091 reports
// the latter as its ErrCredentials).
func handshakeError(err error) error {
	var e *amqp091.Error
	if errors.As(err, &e) {
		if e.Server || e.Code == amqp091.AccessRefused {
			return &transports.Error{Code: e.Code, Reason: e.Reason, Err: e}
		}
	}
	return fmt.Errorf("%w: handshake: %w", transports.ErrConnLost, err)
}

func errOr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

// tlsConfig returns the TLS configuration for one Connect, nil without
// TLS: a clone of c.TLS with the certificate files loaded.
func (c Config) tlsConfig() (*tls.Config, error) {
	if c.TLS == nil {
		return nil, nil
	}
	t := c.TLS.Clone()
	if t.ServerName == "" {
		t.ServerName = c.Host
	}
	if t.MinVersion == 0 {
		t.MinVersion = tls.VersionTLS12
	}
	if c.CACertFile != "" {
		pem, err := os.ReadFile(c.CACertFile)
		if err != nil {
			return nil, fmt.Errorf("%w: CA file: %w", ErrInvalidConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: CA file %s holds no PEM certificate", ErrInvalidConfig, c.CACertFile)
		}
		t.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: client certificate: %w", ErrInvalidConfig, err)
		}
		t.Certificates = append(t.Certificates, cert)
	}
	return t, nil
}

// amqpConfig returns the amqp091 configuration of one connection: fresh
// every time, because amqp091 writes into Properties. Recovery stays nil:
// package conn owns reconnection.
func (c Config) amqpConfig(name string) amqp091.Config {
	var auth amqp091.Authentication
	switch c.AuthMechanism {
	case AuthAMQPlain:
		auth = &amqp091.AMQPlainAuth{Username: c.Username, Password: c.Password}
	case AuthExternal:
		auth = &amqp091.ExternalAuth{}
	default:
		auth = &amqp091.PlainAuth{Username: c.Username, Password: c.Password}
	}
	hb := c.Heartbeat
	if hb > 0 {
		hb = time.Duration(math.Ceil(hb.Seconds())) * time.Second
	}
	return amqp091.Config{
		SASL:       []amqp091.Authentication{auth},
		Vhost:      c.Vhost,
		ChannelMax: uint16(c.ChannelMax),
		FrameSize:  c.FrameMax,
		Heartbeat:  hb,
		Properties: c.clientProperties(name),
		Locale:     "en_US",
	}
}

// clientProperties returns kelp's client properties plus the configured
// extras. (Validate has checked that the extras convert.)
func (c Config) clientProperties(name string) amqp091.Table {
	p := amqp091.Table{
		"product":     "kelp",
		"version":     version(),
		"platform":    "Go " + runtime.Version(),
		"information": "https://github.com/kelpmq/kelp",
	}
	if name != "" {
		p["connection_name"] = name
	}
	extra, _ := toAMQPTable("client properties", c.ClientProperties)
	for k, v := range extra {
		p[k] = v
	}
	return p
}

// version returns kelp's module version as the Go toolchain recorded it,
// or "devel" in a build without module information (tests, go run).
var version = sync.OnceValue(func() string {
	const module = "github.com/kelpmq/kelp"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if bi.Main.Path == module && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == module {
			return d.Version
		}
	}
	return "devel"
})
