package redis_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/redis"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url   string
		check func(redis.Config) bool
	}{
		{"redis://", func(c redis.Config) bool { return c.Addr == "127.0.0.1:6379" && c.DB == 0 }},
		{"redis://h:7000/3", func(c redis.Config) bool { return c.Addr == "h:7000" && c.DB == 3 }},
		{"redis://:pw@h//", func(c redis.Config) bool { return c.Password == "pw" && c.DB == 0 }},
		{"redis://u:pw@h/2?global_keyprefix=pfx:", func(c redis.Config) bool {
			return c.Username == "u" && c.GlobalKeyPrefix == "pfx:" && c.DB == 2
		}},
		{"rediss://h?ssl_cert_reqs=none", func(c redis.Config) bool { return c.TLS != nil && c.TLS.InsecureSkipVerify }},
		{"redis+socket:///tmp/r.sock?virtual_host=4", func(c redis.Config) bool {
			return c.Network == "unix" && c.Addr == "/tmp/r.sock" && c.DB == 4
		}},
		{"redis://h?visibility_timeout=1.5&socket_timeout=2&polling_interval=0.05", func(c redis.Config) bool {
			return c.VisibilityTimeout == 1500*time.Millisecond && c.SocketTimeout == 2*time.Second &&
				c.PollInterval == 50*time.Millisecond
		}},
		{"redis://h?priority_steps=0,1,2,3,4,5,6,7,8,9", func(c redis.Config) bool { return len(c.PrioritySteps) == 10 }},
		{"redis://h?priority_steps=[0, 5]", func(c redis.Config) bool { return slices.Equal(c.PrioritySteps, []int{0, 5}) }},
		{"redis://h?fanout_prefix=false", func(c redis.Config) bool { return c.NoFanoutPrefix }},
		{"redis://h?unacked_mutex_expire=2.5&restore_interval=1", func(c redis.Config) bool {
			return c.UnackedMutexExpire == 2500*time.Millisecond && c.RestoreInterval == time.Second
		}},
		{"redis://h?fanout_patterns=false&fanout_durable=true", func(c redis.Config) bool {
			return c.NoFanoutPatterns && c.DurableFanout
		}},
		{"redis://h?fanout_patterns=true", func(c redis.Config) bool { return !c.NoFanoutPatterns && !c.DurableFanout }},
		{"redis://h?fanout_prefix=/x.", func(c redis.Config) bool { return c.FanoutPrefix == "/x." }},
	} {
		c, err := redis.ParseURL(tc.url)
		if err != nil || !tc.check(c) {
			t.Errorf("ParseURL(%q) = %+v, %v", tc.url, c, err)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	for _, u := range []string{
		"http://h", "redis://h/x", "redis://h:99999", "redis://:secret@h?bogus=1",
		"redis://h?visibility_timeout=-1", "redis://h?unacked_mutex_expire=x", "redis://h?fanout_patterns=maybe", "redis://h?fanout_durable=2", "redis://h?priority_steps=3,6", "redis://h?priority_steps=0,5,2",
		"redis://h?fanout_prefix=nope", "redis://h?ssl_cert_reqs=none", "redis+socket://",
	} {
		_, err := redis.ParseURL(u)
		if !errors.Is(err, transports.ErrInvalidURL) {
			t.Errorf("ParseURL(%q) error %v, want ErrInvalidURL", u, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseURL(%q) error leaks the password: %v", u, err)
		}
	}
}

func TestOpenConnectorByScheme(t *testing.T) {
	for _, u := range []string{"redis://127.0.0.1:6379/1", "rediss://h", "redis+socket:///tmp/s"} {
		c, err := transports.OpenConnector(u)
		if err != nil {
			t.Fatalf("OpenConnector(%q): %v", u, err)
		}
		if _, ok := c.(*redis.Connector); !ok {
			t.Errorf("OpenConnector(%q) = %T", u, c)
		}
	}
	c, _ := transports.OpenConnector("redis://u:secret@h:1/2")
	if a := c.Address(); strings.Contains(a, "secret") || !strings.Contains(a, "h:1/2") {
		t.Errorf("Address() = %q", a)
	}
}
