package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/transports"
	_ "github.com/kelpmq/kelp/transports/all" // every bundled scheme
)

const (
	// envURL names the environment variable that supplies --url.
	envURL = "KELP_URL"
	// defaultConnectTimeout is the default of --connect-timeout.
	defaultConnectTimeout = 10 * time.Second
	// reconnectAttempts is conn.Backoff.MaxAttempts for the command: how
	// many failed rounds of connection attempts in a row end it (when
	// connecting, and again after a connection loss), so that a refused
	// connection fails within about a second instead of retrying until
	// --connect-timeout.
	reconnectAttempts = 3
	// closeTimeout bounds the graceful close at the end of a command.
	closeTimeout = 5 * time.Second
)

// connFlags are the flags of every command that talks to a broker.
type connFlags struct {
	url            string
	connectTimeout time.Duration
	verbose        bool
	// confirmsOff turns publisher confirms off (set by a command, not a
	// flag of every command).
	confirmsOff bool
	// fileDefault makes resolve fall back to defaultFileURL when no URL
	// is given (set by publish and consume before add).
	fileDefault bool
}

// add registers the flags on fs.
func (cf *connFlags) add(fs *flagSet) {
	def := "(default $" + envURL + ")"
	if cf.fileDefault {
		def = "(default $" + envURL + ", else file://<user cache dir>/kelp/queues)"
	}
	fs.StringVar(&cf.url, "url", "", "broker `URL`, such as amqp://guest:guest@localhost:5672// "+def)
	fs.DurationVar(&cf.connectTimeout, "connect-timeout", defaultConnectTimeout, "give up connecting after this `duration`")
	fs.BoolVar(&cf.verbose, "verbose", false, "log the connection's activity on stderr")
}

// resolve fills the URL from the environment and checks the flags before
// anything is dialed: a URL that cannot be parsed, or whose scheme no
// driver serves, fails here, without a password in the message.
func (cf *connFlags) resolve(e *env) error {
	if cf.url == "" {
		cf.url = e.getenv(envURL)
	}
	if cf.url == "" && cf.fileDefault {
		u, err := defaultFileURL()
		if err != nil {
			return err
		}
		cf.url = u
	}
	if cf.url == "" {
		return usageErrorf("no broker URL: give --url or set %s", envURL)
	}
	if cf.connectTimeout <= 0 {
		return usageErrorf("--connect-timeout must be positive, got %v", cf.connectTimeout)
	}
	u, err := conn.ParseURL(cf.url)
	if err != nil {
		return &usageError{msg: err.Error()}
	}
	for _, a := range u.Addrs {
		// Resolving the driver parses the URL without dialing.
		if _, err := transports.OpenConnector(a); err != nil {
			return &usageError{msg: err.Error()}
		}
	}
	return nil
}

// dial connects to the broker, giving up after --connect-timeout or
// reconnectAttempts failed rounds of attempts. Until the connection is open the
// logger stays quiet (unless --verbose), so that a broker that cannot be
// reached gives exactly one line: the returned error.
func (cf *connFlags) dial(ctx context.Context, e *env, name string) (*conn.Connection, error) {
	level := slog.LevelWarn
	if cf.verbose {
		level = slog.LevelInfo
	}
	g := &gated{open: new(atomic.Bool), Handler: slog.NewTextHandler(e.stderr, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	})}
	g.open.Store(cf.verbose)
	cfg := conn.Config{
		Name:            "kelp " + name,
		Logger:          slog.New(g),
		ConnectTimeout:  cf.connectTimeout,
		Reconnect:       conn.Backoff{MaxAttempts: reconnectAttempts},
		DisableConfirms: cf.confirmsOff,
	}
	dctx, cancel := context.WithTimeout(ctx, cf.connectTimeout)
	defer cancel()
	c, err := conn.DialConfig(dctx, cf.url, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil, errInterrupted
		}
		return nil, err
	}
	g.open.Store(true)
	return c, nil
}

// session dials, runs fn with the connection, and closes it gracefully
// whatever fn returned.
func (cf *connFlags) session(ctx context.Context, e *env, name string, fn func(*conn.Connection) error) error {
	c, err := cf.dial(ctx, e, name)
	if err != nil {
		return err
	}
	err = fn(c)
	if cerr := closeConn(ctx, c); err == nil {
		err = cerr
	}
	return err
}

// closeConn closes c gracefully, bounded by closeTimeout even when ctx
// has been cancelled by a signal.
func closeConn(ctx context.Context, c *conn.Connection) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	if err := c.Close(cctx); err != nil {
		return fmt.Errorf("closing the connection: %w", err)
	}
	return nil
}

// gated is a slog.Handler that drops every record while open is false.
type gated struct {
	open *atomic.Bool
	slog.Handler
}

// Enabled implements slog.Handler.
func (g *gated) Enabled(ctx context.Context, l slog.Level) bool {
	return g.open.Load() && g.Handler.Enabled(ctx, l)
}

// WithAttrs implements slog.Handler.
func (g *gated) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &gated{open: g.open, Handler: g.Handler.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (g *gated) WithGroup(name string) slog.Handler {
	return &gated{open: g.open, Handler: g.Handler.WithGroup(name)}
}
