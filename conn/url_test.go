package conn_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       string
		addrs    []string
		failover conn.FailoverStrategy
		timeout  time.Duration
	}{
		{"single", "amqp://guest:guest@localhost:5672//", []string{"amqp://guest:guest@localhost:5672//"}, conn.RoundRobin, 0},
		{"failover list", "amqp://h1//; amqp://h2//;", []string{"amqp://h1//", "amqp://h2//"}, conn.RoundRobin, 0},
		{"conn keys stripped, driver keys kept",
			"amqp://h1//?heartbeat=10&failover_strategy=shuffle&connect_timeout=2.5;amqp://h2//?connect_timeout=2.5",
			[]string{"amqp://h1//?heartbeat=10", "amqp://h2//"}, conn.Shuffle, 2500 * time.Millisecond},
		{"duration form and fragment", "redis://h:6379/0?connect_timeout=1500ms#x", []string{"redis://h:6379/0#x"}, conn.RoundRobin, 1500 * time.Millisecond},
		{"memory", "memory://", []string{"memory://"}, conn.RoundRobin, 0},
		{"Kombu's Sentinel group is one address", "sentinel://h1:26379;sentinel://h2:26379/0?master_name=m;amqp://h3//",
			[]string{"sentinel://h1:26379;sentinel://h2:26379/0?master_name=m", "amqp://h3//"}, conn.RoundRobin, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := conn.ParseURL(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(u.Addrs, "|") != strings.Join(tc.addrs, "|") || u.Failover != tc.failover || u.ConnectTimeout != tc.timeout {
				t.Fatalf("ParseURL(%q) = %+v, want %v %v %v", tc.in, u, tc.addrs, tc.failover, tc.timeout)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	for _, in := range []string{
		"",
		" ; ",
		"localhost:5672",
		"amqp://u:hunter2@h//?failover_strategy=sideways",
		"amqp://u:hunter2@h//?connect_timeout=-1",
		"amqp://u:hunter2@h//?connect_timeout=soon",
		"amqp://u:hunter2@h//?connect_timeout=1;amqp://h2//?connect_timeout=2",
		"amqp://u:hunter2@h//?%zz=1",
	} {
		_, err := conn.ParseURL(in)
		if !errors.Is(err, conn.ErrInvalidConfig) {
			t.Errorf("ParseURL(%q) error = %v, want ErrInvalidConfig", in, err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseURL(%q) leaked the password: %v", in, err)
		}
	}
}

func TestURLStringRedacts(t *testing.T) {
	u, err := conn.ParseURL("amqp://u:hunter2@h1//;amqp://v:pw2@h2//")
	if err != nil {
		t.Fatal(err)
	}
	if s := u.String(); strings.Contains(s, "hunter2") || strings.Contains(s, "pw2") || !strings.Contains(s, ";") {
		t.Fatalf("String() = %q", s)
	}
}

// A ';' inside the user info is part of the password, not a failover
// separator: the URL stays whole and String never shows the password.
func TestParseURLSemicolonInPassword(t *testing.T) {
	u, err := conn.ParseURL("amqp://u:pa;ss@h1//;amqp://h2//")
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Addrs) != 2 || u.Addrs[0] != "amqp://u:pa;ss@h1//" || u.Addrs[1] != "amqp://h2//" {
		t.Fatalf("Addrs = %q", u.Addrs)
	}
	if s := u.String(); strings.Contains(s, "pa") || strings.Contains(s, "ss@") {
		t.Fatalf("String() = %q shows the password", s)
	}
}
