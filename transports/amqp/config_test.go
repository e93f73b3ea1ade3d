package amqp_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/amqp"
)

func TestParseURL(t *testing.T) {
	type want struct {
		host, user, pass, vhost string
		port                    int
		tls, insecure           bool
	}
	plain := func(host, vhost string) want {
		return want{host: host, user: "guest", pass: "guest", vhost: vhost, port: 5672}
	}
	for _, tc := range []struct {
		url   string
		want  want
		check func(t *testing.T, c amqp.Config)
	}{
		{url: "amqp://", want: plain("localhost", "/")},
		{url: "amqp://h//", want: plain("h", "/")},
		{url: "amqp://h/", want: plain("h", "/")},
		{url: "amqp://h", want: plain("h", "/")},
		{url: "amqp://h/vh", want: plain("h", "vh")},
		{url: "amqp://h/%2Fvh", want: plain("h", "/vh")},
		{url: "amqp://h/%2F", want: plain("h", "/")},
		{url: "amqp://h/a%20b", want: plain("h", "a b")},
		{url: "pyamqp://h/", want: plain("h", "/")},
		{url: "librabbitmq://h/", want: plain("h", "/")},
		{url: "AMQP://h/", want: plain("h", "/")},
		{url: "amqp://[::1]:5673/", want: want{host: "::1", user: "guest", pass: "guest", vhost: "/", port: 5673}},
		{url: "amqp://u:p%40ss%3Aw@h:1234/v", want: want{host: "h", user: "u", pass: "p@ss:w", vhost: "v", port: 1234}},
		{url: "amqp://bob@h/", want: want{host: "h", user: "bob", pass: "guest", vhost: "/", port: 5672}},
		{url: "amqps://h/", want: want{host: "h", user: "guest", pass: "guest", vhost: "/", port: 5671, tls: true}},
		{url: "amqps://h:1/", want: want{host: "h", user: "guest", pass: "guest", vhost: "/", port: 1, tls: true}},
		{url: "amqp://h/?ssl=true", want: want{host: "h", user: "guest", pass: "guest", vhost: "/", port: 5671, tls: true}},
		{url: "amqp://h/?ssl=0", want: plain("h", "/")},
		{url: "amqps://h/?ssl_cert_reqs=CERT_NONE", want: want{host: "h", user: "guest", pass: "guest", vhost: "/", port: 5671, tls: true, insecure: true}},
		{url: "amqps://h/?ssl_cert_reqs=required", want: want{host: "h", user: "guest", pass: "guest", vhost: "/", port: 5671, tls: true}},
		{url: "amqps://h/?verify=verify_none", want: want{host: "h", user: "guest", pass: "guest", vhost: "/", port: 5671, tls: true, insecure: true}},
		{url: "amqps://h/?insecure_skip_verify=false", want: want{host: "h", user: "guest", pass: "guest", vhost: "/", port: 5671, tls: true}},
		{
			url:  "amqp://h/?ssl_ca_certs=/ca.pem&ssl_certfile=/c.pem&ssl_keyfile=/k.pem&ssl_server_hostname=broker",
			want: want{host: "h", user: "guest", pass: "guest", vhost: "/", port: 5671, tls: true},
			check: func(t *testing.T, c amqp.Config) {
				if c.CACertFile != "/ca.pem" || c.CertFile != "/c.pem" || c.KeyFile != "/k.pem" || c.TLS.ServerName != "broker" {
					t.Errorf("TLS files = %q %q %q, server name %q", c.CACertFile, c.CertFile, c.KeyFile, c.TLS.ServerName)
				}
			},
		},
		{
			url:  "amqps://h/?cacertfile=/ca.pem&certfile=/c.pem&keyfile=/k.pem&server_name_indication=b2",
			want: want{host: "h", user: "guest", pass: "guest", vhost: "/", port: 5671, tls: true},
			check: func(t *testing.T, c amqp.Config) {
				if c.CACertFile != "/ca.pem" || c.CertFile != "/c.pem" || c.KeyFile != "/k.pem" || c.TLS.ServerName != "b2" {
					t.Errorf("TLS files = %q %q %q, server name %q", c.CACertFile, c.CertFile, c.KeyFile, c.TLS.ServerName)
				}
			},
		},
		{
			url:  "amqp://h/?heartbeat=30&connect_timeout=2.5&channel_max=10&frame_max=8192&login_method=amqplain",
			want: plain("h", "/"),
			check: func(t *testing.T, c amqp.Config) {
				if c.Heartbeat != 30*time.Second || c.ConnectTimeout != 2500*time.Millisecond ||
					c.ChannelMax != 10 || c.FrameMax != 8192 || c.AuthMechanism != amqp.AuthAMQPlain {
					t.Errorf("got heartbeat %v, connect timeout %v, channel max %d, frame max %d, auth %q",
						c.Heartbeat, c.ConnectTimeout, c.ChannelMax, c.FrameMax, c.AuthMechanism)
				}
			},
		},
	} {
		t.Run(tc.url, func(t *testing.T) {
			c, err := amqp.ParseURL(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			ctr, err := amqp.NewConnector(c)
			if err != nil {
				t.Fatalf("NewConnector: %v", err)
			}
			c = ctr.Config()
			got := want{host: c.Host, user: c.Username, pass: c.Password, vhost: c.Vhost, port: c.Port, tls: c.TLS != nil}
			if c.TLS != nil {
				got.insecure = c.TLS.InsecureSkipVerify
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

func TestParseURLHeartbeatAndTimeouts(t *testing.T) {
	c, err := amqp.ParseURL("amqp://h/?heartbeat=0&connection_timeout=1500")
	if err != nil {
		t.Fatal(err)
	}
	if c.Heartbeat >= 0 || c.ConnectTimeout != 1500*time.Millisecond {
		t.Fatalf("heartbeat %v (want negative: the broker's), connect timeout %v (want 1.5s)", c.Heartbeat, c.ConnectTimeout)
	}
}

func TestParseURLErrors(t *testing.T) {
	for _, tc := range []struct{ url, mention string }{
		{"amqp://u:secret@h/?bogus=1", "bogus"},
		{"amqp://u:secret@h:99999/", "port"},
		{"amqp://u:secret@h:0/", "port"},
		{"http://u:secret@h/", "scheme"},
		{"amqp:u:secret@h", "amqp://host"},
		{"amqp://u:secret@h/?connection_timeout=1500&connect_timeout=1s", "same option"},
		{"amqp://u:secret@h/?heartbeat=x", "heartbeat"},
		{"amqp://u:secret@h/?heartbeat=-1", "heartbeat"},
		{"amqp://u:secret@h/?heartbeat=NaN", "heartbeat"},
		{"amqp://u:secret@h/?heartbeat=1&heartbeat=2", "heartbeat"},
		{"amqp://u:secret@h/?ssl_ca_certs=a&cacertfile=b", "same option"},
		{"amqp://u:secret@h/?frame_max=100", "frame max"},
		{"amqp://u:secret@h/?channel_max=70000", "channel max"},
		{"amqp://u:secret@h/?connect_timeout=0", "connect_timeout"},
		{"amqp://u:secret@h/?ssl_certfile=c", "key file"},
		{"amqp://u:secret@h/?login_method=KERBEROS", "KERBEROS"},
		{"amqp://u:secret@h/?login_method=EXTERNAL", "EXTERNAL"},
		{"amqp://u:secret@h/?ssl_cert_reqs=maybe", "CERT_"},
		{"amqp://u:secret@h/?verify=sometimes", "verify"},
		{"amqp://u:secret@h/?ssl=perhaps", "ssl"},
		{"amqp://u:sec%zzret@h/", "escape"},
		{"amqp://u:secret@h/#frag", "fragment"},
		{"amqp://u:secret@h/?a=%zz", "query"},
		{"amqp://u:secret@h/" + strings.Repeat("v", 256), "vhost"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			_, err := amqp.ParseURL(tc.url)
			if !errors.Is(err, transports.ErrInvalidURL) {
				t.Fatalf("got %v, want an error wrapping ErrInvalidURL", err)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "sec%zzret") {
				t.Fatalf("error leaks the password: %v", err)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("error %q does not mention %q", err, tc.mention)
			}
			// The driver reports the same through the registry.
			if _, err := transports.OpenConnector(tc.url); err == nil && !strings.HasPrefix(tc.url, "http") {
				t.Fatalf("OpenConnector accepted %q", tc.url)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (amqp.Config{}).Validate(); err != nil {
		t.Fatalf("zero Config: %v", err)
	}
	for name, c := range map[string]amqp.Config{
		"port":         {Port: 70000},
		"external":     {AuthMechanism: amqp.AuthExternal},
		"files no tls": {CACertFile: "/ca.pem"},
		"property":     {ClientProperties: map[string]any{"bad": make(chan int)}},
		"timeout":      {ConnectTimeout: -time.Second},
		"heartbeat":    {Heartbeat: 100000 * time.Second},
	} {
		err := c.Validate()
		if !errors.Is(err, amqp.ErrInvalidConfig) {
			t.Errorf("%s: Validate = %v, want ErrInvalidConfig", name, err)
		}
		if _, err := amqp.NewConnector(c); !errors.Is(err, amqp.ErrInvalidConfig) {
			t.Errorf("%s: NewConnector = %v, want ErrInvalidConfig", name, err)
		}
	}
}

func TestAddressRedactsPassword(t *testing.T) {
	for url, want := range map[string]string{
		"amqp://u:hunter2@h:1234/v":    "amqp://u:***@h:1234/v",
		"amqps://u:hunter2@h//":        "amqps://u:***@h:5671/%2F",
		"amqp://":                      "amqp://guest:***@localhost:5672/%2F",
		"amqp://u:hunter2@[::1]/%2Fvh": "amqp://u:***@[::1]:5672/%2Fvh",
	} {
		ctr, err := transports.OpenConnector(url)
		if err != nil {
			t.Fatal(err)
		}
		if got := ctr.Address(); got != want {
			t.Errorf("Address(%s) = %q, want %q", url, got, want)
		}
	}
}

func TestSchemesRegistered(t *testing.T) {
	for _, s := range amqp.Schemes {
		d, err := transports.Lookup(s)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", s, err)
		}
		if _, ok := d.(amqp.Driver); !ok {
			t.Fatalf("Lookup(%q) = %T", s, d)
		}
	}
}
