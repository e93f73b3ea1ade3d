package beanstalk

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kelpmq/kelp/transports"
)

// Defaults of the zero-valued Config fields.
const (
	DefaultAddr         = "127.0.0.1:11300"
	DefaultTTR          = 60 * time.Second
	DefaultPollInterval = 50 * time.Millisecond
	DefaultDialTimeout  = 10 * time.Second
)

// ErrInvalidConfig is wrapped by every error of [Config.Validate] and
// [ParseURL].
var ErrInvalidConfig = errors.New("beanstalk: invalid configuration")

// Config holds the settings of a [Connector]. The zero value is valid: it
// talks to beanstalkd on 127.0.0.1:11300.
type Config struct {
	// Addr is the server's host:port. Default [DefaultAddr].
	Addr string
	// TTR is the time-to-run of every job: beanstalkd makes a reserved
	// job ready again when its consumer neither settles nor touches it for
	// that long. The Connector touches the jobs it holds every TTR/3, so
	// only a dead or stalled process loses its reservations. Whole
	// seconds; default [DefaultTTR].
	TTR time.Duration
	// PollInterval is the longest pause between two reserve attempts of a
	// waiting consumer (waiting starts at 1 ms and doubles up to it).
	// Default [DefaultPollInterval].
	PollInterval time.Duration
	// DialTimeout bounds connecting. Default [DefaultDialTimeout].
	DialTimeout time.Duration
	// TubePrefix is put before every tube name (escaped like it), so that
	// several applications or test runs share a server without sharing
	// tubes. Default none.
	TubePrefix string
	// NoBury deletes the messages that leave a queue without being
	// consumed and without a dead-letter exchange to go to (rejected
	// without requeue, or expired), as RabbitMQ drops them. By default
	// they are buried instead, kept by beanstalkd out of the way until an
	// operator kicks them back ([Connector.Kick], or beanstalkd's kick
	// command on the tube) or deletes them.
	NoBury bool
	// Logger receives diagnostics. Nil means discard.
	Logger *slog.Logger
}

// Validate reports every problem of c, joined, each wrapping
// [ErrInvalidConfig].
func (c Config) Validate() error {
	var errs []error
	if c.TTR < 0 || c.TTR > 0 && c.TTR < time.Second {
		errs = append(errs, fmt.Errorf("%w: TTR %v must be at least 1s", ErrInvalidConfig, c.TTR))
	}
	if c.PollInterval < 0 {
		errs = append(errs, fmt.Errorf("%w: PollInterval %v is negative", ErrInvalidConfig, c.PollInterval))
	}
	if c.DialTimeout < 0 {
		errs = append(errs, fmt.Errorf("%w: DialTimeout %v is negative", ErrInvalidConfig, c.DialTimeout))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.TTR == 0 {
		c.TTR = DefaultTTR
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// ParseURL reads a Config from beanstalk://host:port?ttr=60s (Kombu's
// form; the port defaults to 11300, the host to 127.0.0.1). Options: ttr,
// poll_interval, dial_timeout (Go durations), tube_prefix, bury (true or
// false; false sets NoBury). A path, user info or unknown option is an
// error wrapping [ErrInvalidConfig].
func ParseURL(rawURL string) (Config, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Config{}, fmt.Errorf("beanstalk: %w: %w", transports.ErrInvalidURL, err)
	}
	if u.Scheme != "beanstalk" {
		return Config{}, fmt.Errorf("%w: scheme %q, want beanstalk", ErrInvalidConfig, u.Scheme)
	}
	if u.User != nil || strings.Trim(u.Path, "/") != "" {
		return Config{}, fmt.Errorf("%w: beanstalkd has no users or virtual hosts (write beanstalk://host:port)", ErrInvalidConfig)
	}
	var cfg Config
	host, port := u.Hostname(), u.Port()
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "11300"
	}
	cfg.Addr = host + ":" + port
	if strings.Contains(host, ":") {
		cfg.Addr = "[" + host + "]:" + port
	}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "tube_prefix":
			cfg.TubePrefix = v
			continue
		case "bury":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return Config{}, fmt.Errorf("%w: bury=%q is not true or false", ErrInvalidConfig, v)
			}
			cfg.NoBury = !b
			continue
		case "ttr", "poll_interval", "dial_timeout":
		default:
			return Config{}, fmt.Errorf("%w: unknown option %q (known: ttr, poll_interval, dial_timeout, tube_prefix, bury)", ErrInvalidConfig, k)
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("%w: %s=%q is not a positive duration", ErrInvalidConfig, k, v)
		}
		switch k {
		case "ttr":
			cfg.TTR = d
		case "poll_interval":
			cfg.PollInterval = d
		case "dial_timeout":
			cfg.DialTimeout = d
		}
	}
	return cfg, cfg.Validate()
}
