package conn_test

import (
	"errors"
	"testing"

	"github.com/kelpmq/kelp/conn"
)

func TestConfigValidate(t *testing.T) {
	if err := (conn.Config{}).Validate(); err != nil {
		t.Fatalf("zero Config: %v", err)
	}
	ok := conn.Config{Serializer: "msgpack", Accept: []string{"json", "application/x-msgpack"}, Failover: conn.Shuffle}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid Config: %v", err)
	}
	for name, c := range map[string]conn.Config{
		"failover":       {Failover: 7},
		"timeout":        {ConnectTimeout: -1},
		"window":         {ConfirmWindow: -1},
		"max size":       {MaxDecompressedSize: -1},
		"pub channels":   {PublishChannels: -1},
		"pub channels+":  {PublishChannels: conn.MaxPublishChannels + 1},
		"backoff":        {Reconnect: conn.Backoff{MaxAttempts: -2}},
		"serializer":     {Serializer: "nope"},
		"accept unknown": {Accept: []string{"nope"}},
	} {
		if err := c.Validate(); !errors.Is(err, conn.ErrInvalidConfig) {
			t.Errorf("%s: Validate() = %v, want ErrInvalidConfig", name, err)
		}
	}
	// Every problem is reported at once.
	err := conn.Config{ConnectTimeout: -1, ConfirmWindow: -1}.Validate()
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 2 {
		t.Fatalf("Validate reported %d problems, want 2: %v", n, err)
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[conn.State]string{
		conn.StateConnecting: "connecting", conn.StateOpen: "open", conn.StateBlocked: "blocked",
		conn.StateReconnecting: "reconnecting", conn.StateClosing: "closing", conn.StateClosed: "closed",
		conn.State(42): "State(42)",
	} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(s), s.String(), want)
		}
	}
	if conn.Shuffle.String() != "shuffle" || conn.RoundRobin.String() != "round-robin" {
		t.Error("FailoverStrategy.String")
	}
}
