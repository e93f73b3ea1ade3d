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

func TestParseURLSentinelAndCluster(t *testing.T) {
	for _, tc := range []struct {
		url   string
		check func(redis.Config) bool
	}{
		// Kombu's form: one element per Sentinel, path and query on the last.
		{"sentinel://h1:26380;sentinel://h2/3?master_name=mymaster", func(c redis.Config) bool {
			return slices.Equal(c.SentinelAddrs, []string{"h1:26380", "h2:26379"}) && c.DB == 3 && c.MasterName == "mymaster"
		}},
		{"sentinel://:pw@h1,h2:1/0?master_name=m&sentinel_password=sp&sentinel_username=su", func(c redis.Config) bool {
			return c.Password == "pw" && c.SentinelPassword == "sp" && c.SentinelUsername == "su" &&
				slices.Equal(c.SentinelAddrs, []string{"h1:26379", "h2:1"})
		}},
		{"redis+sentinel://u:pw@h?master_name=m", func(c redis.Config) bool {
			return c.Username == "u" && c.Password == "pw" && len(c.SentinelAddrs) == 1 && c.DB == 0
		}},
		{"sentinel://h1;h2:5;redis+sentinel://[::1]?master_name=m", func(c redis.Config) bool {
			return slices.Equal(c.SentinelAddrs, []string{"h1:26379", "h2:5", "[::1]:26379"})
		}},
		{"sentinel://h1/2?master_name=m;sentinel://h2/2", func(c redis.Config) bool { return c.DB == 2 && len(c.SentinelAddrs) == 2 }},
		{"redis+cluster://h1:7000,h2:7001", func(c redis.Config) bool {
			return slices.Equal(c.ClusterAddrs, []string{"h1:7000", "h2:7001"}) && c.TLS == nil && c.GlobalKeyPrefix == ""
		}},
		{"redis+cluster://:pw@h1:7000?addr=h2:7001&addr=h3&global_keyprefix={app}:", func(c redis.Config) bool {
			return slices.Equal(c.ClusterAddrs, []string{"h1:7000", "h2:7001", "h3:6379"}) && c.GlobalKeyPrefix == "{app}:" && c.Password == "pw"
		}},
		{"rediss+cluster://h:1?ssl_cert_reqs=none", func(c redis.Config) bool { return c.TLS != nil && c.TLS.InsecureSkipVerify }},
		{"redis://h?health_check_interval=0", func(c redis.Config) bool { return c.NoHealthCheck }},
		{"redis://h?health_check_interval=2.5", func(c redis.Config) bool {
			return !c.NoHealthCheck && c.HealthCheckInterval == 2500*time.Millisecond
		}},
	} {
		c, err := redis.ParseURL(tc.url)
		if err != nil || !tc.check(c) {
			t.Errorf("ParseURL(%q) = %+v, %v", tc.url, c, err)
		}
	}
}

func TestParseURLSentinelAndClusterErrors(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"sentinel://h", "master_name"},
		{"sentinel://:secret@h?master_name=m&bogus=1", "unknown option"},
		{"sentinel://h?master_name=m&sentinel_password=secret&bogus=1", "unknown option"},
		{"redis://h?master_name=m", "only for sentinel"},
		{"redis://h?sentinel_password=secret", "only for sentinel"},
		{"redis+cluster://h/3", "database 0"},
		{"redis+cluster://h?global_keyprefix=app:", "hash tag"},
		{"redis+cluster://h?global_keyprefix={}app:", "hash tag"},
		{"redis+cluster://", "no host"},
		{"redis+cluster://h1,,h2", "empty host"},
		{"redis+cluster://h?ssl_cert_reqs=none", "rediss"},
		{"sentinel://h:99999?master_name=m", "bad port"},
		{"sentinel://h1;redis://h2?master_name=m", "scheme"},
		{"sentinel://a:secret@h1;sentinel://c:d@h2?master_name=m", "credentials"},
		{"sentinel://h1/1;sentinel://h2/2?master_name=m", "databases"},
		{"sentinel://h/x?master_name=m", "not a number"},
		{"redis://h?health_check_interval=-1", "seconds"},
	} {
		_, err := redis.ParseURL(tc.url)
		if !errors.Is(err, transports.ErrInvalidURL) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseURL(%q) error %v, want ErrInvalidURL mentioning %q", tc.url, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseURL(%q) error leaks a password: %v", tc.url, err)
		}
	}
}

func TestConfigHAValidation(t *testing.T) {
	for _, cfg := range []redis.Config{
		{SentinelAddrs: []string{"h:1"}, ClusterAddrs: []string{"h:2"}, MasterName: "m"},
		{SentinelAddrs: []string{"h:1"}},
		{MasterName: "m"},
		{ClusterAddrs: []string{"h:2"}, DB: 1},
		{ClusterAddrs: []string{"h:2"}, GlobalKeyPrefix: "x"},
		{HealthCheckInterval: -time.Second},
	} {
		if err := cfg.Validate(); !errors.Is(err, redis.ErrInvalidConfig) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalidConfig", cfg, err)
		}
	}
	c, err := redis.NewConnector(redis.Config{ClusterAddrs: []string{"h:2"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Config().GlobalKeyPrefix; got != redis.DefaultClusterKeyPrefix {
		t.Errorf("cluster key prefix defaults to %q, want %q", got, redis.DefaultClusterKeyPrefix)
	}
	if got := c.Config().HealthCheckInterval; got != redis.DefaultHealthCheckInterval {
		t.Errorf("health check interval defaults to %v", got)
	}
}

// TestHAAddress checks that Address names the setup without the
// password, in a form ParseURL reads back.
func TestHAAddress(t *testing.T) {
	for _, u := range []string{
		"sentinel://:secret@h1:1;sentinel://h2:2/4?master_name=m",
		"redis+sentinel://u:secret@h1?master_name=m",
		"redis+cluster://:secret@h1:1,h2:2",
		"rediss+cluster://h1:1",
	} {
		c, err := transports.OpenConnector(u)
		if err != nil {
			t.Fatalf("OpenConnector(%q): %v", u, err)
		}
		a := c.Address()
		if strings.Contains(a, "secret") {
			t.Errorf("Address() of %q leaks the password: %q", u, a)
		}
		want, _ := redis.ParseURL(u)
		got, err := redis.ParseURL(a)
		if err != nil {
			t.Errorf("Address() of %q = %q, which does not parse: %v", u, a, err)
			continue
		}
		if !slices.Equal(got.SentinelAddrs, want.SentinelAddrs) || !slices.Equal(got.ClusterAddrs, want.ClusterAddrs) ||
			got.DB != want.DB || got.MasterName != want.MasterName || (got.TLS == nil) != (want.TLS == nil) {
			t.Errorf("Address() of %q = %q, parsed %+v", u, a, got)
		}
	}
}
