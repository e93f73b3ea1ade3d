package filesystem

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kelpmq/kelp/transports"
)

// Defaults of the zero-valued Config fields.
const (
	DefaultLeaseTimeout = 30 * time.Second
	DefaultPollInterval = 100 * time.Millisecond
)

// ErrInvalidConfig is wrapped by every error of [Config.Validate] and
// [ParseURL].
var ErrInvalidConfig = errors.New("filesystem: invalid configuration")

// Config holds the settings of a [Connector]. Only Dir is required; every
// other zero value means the documented default.
type Config struct {
	// Dir is the root directory of the store (see the package
	// documentation for its layout). It is created when missing. Every
	// process that shares queues uses the same Dir.
	Dir string

	// NoSync turns off fsync. By default a persistent message (delivery
	// mode 2) is fsynced, file and directory, before Put returns, and so
	// is a requeued one; transient messages never are. With NoSync a power
	// loss may lose recently published messages (a process crash still
	// loses nothing).
	NoSync bool

	// LeaseTimeout is how long the claims of a process survive it: a live
	// Connector renews its lease every LeaseTimeout/4, and the claims of a
	// process whose lease is older than LeaseTimeout go back to their
	// queues, marked redelivered. Default [DefaultLeaseTimeout].
	LeaseTimeout time.Duration

	// PollInterval is the longest pause between two looks at an empty
	// queue by a waiting consumer, for messages put by other processes
	// (messages put by this process wake it at once). Waiting starts at
	// 1 ms and doubles up to it. Default [DefaultPollInterval].
	PollInterval time.Duration

	// Logger receives diagnostics (corrupt files moved aside, failed lease
	// renewals). Nil means discard.
	Logger *slog.Logger
}

// Validate reports every problem of c, joined, each wrapping
// [ErrInvalidConfig].
func (c Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, fmt.Errorf("%w: Dir is empty", ErrInvalidConfig))
	}
	if c.LeaseTimeout < 0 {
		errs = append(errs, fmt.Errorf("%w: LeaseTimeout %v is negative", ErrInvalidConfig, c.LeaseTimeout))
	}
	if c.PollInterval < 0 {
		errs = append(errs, fmt.Errorf("%w: PollInterval %v is negative", ErrInvalidConfig, c.PollInterval))
	}
	return errors.Join(errs...)
}

// withDefaults fills the zero-valued fields in.
func (c Config) withDefaults() Config {
	if c.LeaseTimeout == 0 {
		c.LeaseTimeout = DefaultLeaseTimeout
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if abs, err := filepath.Abs(c.Dir); err == nil {
		c.Dir = abs
	}
	return c
}

// ParseURL reads a Config from a URL of the form
//
//	file:///absolute/path?sync=false&lease_timeout=30s&poll_interval=100ms
//
// ("filesystem://" is accepted too). The path is the store's Dir; a
// relative path is written file://./relative or file:relative. Query
// options: sync (a boolean, default true; false sets NoSync),
// lease_timeout and poll_interval (Go durations). Unknown options, a host
// other than "" or "localhost", and an empty path are errors wrapping
// [ErrInvalidConfig] (or [transports.ErrInvalidURL] for a URL that does
// not parse).
func ParseURL(rawURL string) (Config, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Config{}, fmt.Errorf("filesystem: %w: %w", transports.ErrInvalidURL, err)
	}
	if u.Scheme != "file" && u.Scheme != "filesystem" {
		return Config{}, fmt.Errorf("%w: scheme %q, want file or filesystem", ErrInvalidConfig, u.Scheme)
	}
	var cfg Config
	switch {
	case u.Opaque != "": // file:relative
		cfg.Dir = u.Opaque
	case u.Host == "" || u.Host == "localhost":
		cfg.Dir = u.Path
	case u.Host == "." || u.Host == "..":
		cfg.Dir = u.Host + u.Path
	default:
		return Config{}, fmt.Errorf("%w: host %q: the filesystem transport is local (write file:///path)", ErrInvalidConfig, u.Host)
	}
	if cfg.Dir == "" {
		return Config{}, fmt.Errorf("%w: no directory in %q (write file:///path)", ErrInvalidConfig, rawURL)
	}
	cfg.Dir = filepath.FromSlash(cfg.Dir)
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch strings.ToLower(k) {
		case "sync":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return Config{}, fmt.Errorf("%w: sync=%q is not a boolean", ErrInvalidConfig, v)
			}
			cfg.NoSync = !b
		case "lease_timeout":
			if cfg.LeaseTimeout, err = parseDuration(k, v); err != nil {
				return Config{}, err
			}
		case "poll_interval":
			if cfg.PollInterval, err = parseDuration(k, v); err != nil {
				return Config{}, err
			}
		default:
			return Config{}, fmt.Errorf("%w: unknown option %q (known: sync, lease_timeout, poll_interval)", ErrInvalidConfig, k)
		}
	}
	return cfg, cfg.Validate()
}

func parseDuration(k, v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%w: %s=%q is not a positive duration", ErrInvalidConfig, k, v)
	}
	return d, nil
}
