package transporttest_test

import (
	"context"
	"errors"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/memory"
	"github.com/kelpmq/kelp/transports/transporttest"
)

// The suite checks itself by running against the memory transport wrapped
// in "mutants": wrappers that break one rule of the SPI each. Every mutant
// must make the tests that guard that rule fail, and the same tests must
// pass on the unmodified transport. The suite runs in a child process (this
// test binary, re-executed), because a failing *testing.T cannot be
// contained inside the parent test.

// mutantEnv names the mutant a child process runs the suite against.
const mutantEnv = "KELP_TRANSPORTTEST_MUTANT"

// mutants maps each mutant to the tests (Group/Test) that must catch it.
var mutants = map[string][]string{
	"drop-headers":       {"Message/RoundTripGet", "Message/RoundTripConsume"},
	"seq-off-by-one":     {"Confirms/Sequence", "Confirms/ManyInFlight"},
	"ignore-prefetch":    {"Consume/Prefetch"},
	"no-redelivered":     {"Queue/Purge", "Settle/NackMultiple"},
	"close-twice-errors": {"Conn/CloseIdempotent", "Conn/ChannelCloseIdempotent"},
	"misroute":           {"Message/RoundTripGet", "Routing/Direct"},
}

// TestSuiteCatchesMutants runs every mutant's tests in a child process,
// mutated and then unmodified.
func TestSuiteCatchesMutants(t *testing.T) {
	if os.Getenv(mutantEnv) != "" {
		t.Skip("in a child process")
	}
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, name := range slices.Sorted(maps.Keys(mutants)) {
		tests := mutants[name]
		t.Run(name, func(t *testing.T) {
			out, err := runChild(t, name, tests)
			if err == nil {
				t.Fatalf("the suite passed against mutant %s:\n%s", name, out)
			}
			for _, test := range tests {
				if !strings.Contains(out, "--- FAIL: TestMutant/"+test+" ") {
					t.Errorf("mutant %s did not fail %s:\n%s", name, test, out)
				}
			}
			if out, err := runChild(t, "none", tests); err != nil {
				t.Fatalf("the same tests fail without the mutation:\n%s", out)
			}
		})
	}
}

// runChild runs TestMutant's tests in a child process against a mutant.
func runChild(t *testing.T, mutant string, tests []string) (string, error) {
	t.Helper()
	var groups, names []string
	for _, test := range tests {
		g, n, _ := strings.Cut(test, "/")
		groups, names = append(groups, g), append(names, n)
	}
	pattern := "^TestMutant$/^(" + strings.Join(groups, "|") + ")$/^(" + strings.Join(names, "|") + ")$"
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run", pattern, "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), mutantEnv+"="+mutant)
	out, err := cmd.CombinedOutput()
	if err != nil && !errors.As(err, new(*exec.ExitError)) {
		t.Fatalf("running the child process: %v", err)
	}
	return string(out), err
}

// TestMutant runs the suite against the mutant a parent process named; it
// is skipped otherwise.
func TestMutant(t *testing.T) {
	mutant := os.Getenv(mutantEnv)
	if mutant == "" {
		t.Skip("run by TestSuiteCatchesMutants")
	}
	transporttest.Run(t, transporttest.Features{Confirms: true, MessageCounts: true},
		func(t *testing.T) transports.Connector {
			b := memory.New()
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = b.Close(ctx)
			})
			return mutConnector{b.Connector(), mutant}
		})
}

type mutConnector struct {
	transports.Connector
	mutant string
}

func (c mutConnector) Connect(ctx context.Context, opts transports.ConnectOptions) (transports.Conn, error) {
	conn, err := c.Connector.Connect(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &mutConn{Conn: conn, mutant: c.mutant}, nil
}

type mutConn struct {
	transports.Conn
	mutant string
	closed bool
}

func (c *mutConn) Channel(ctx context.Context) (transports.Channel, error) {
	ch, err := c.Conn.Channel(ctx)
	if err != nil {
		return nil, err
	}
	return &mutChannel{Channel: ch, mutant: c.mutant}, nil
}

func (c *mutConn) Close(ctx context.Context) error {
	err := c.Conn.Close(ctx)
	if c.mutant == "close-twice-errors" && c.closed {
		return errors.New("mutant: already closed")
	}
	c.closed = true
	return err
}

type mutChannel struct {
	transports.Channel
	mutant string
	closed bool
}

func (c *mutChannel) Publish(ctx context.Context, p transports.Publishing) (uint64, error) {
	if c.mutant == "drop-headers" {
		p.Headers = nil
	}
	if c.mutant == "misroute" && p.Exchange != "" && p.RoutingKey != "" {
		p.RoutingKey += ".x"
	}
	seq, err := c.Channel.Publish(ctx, p)
	if c.mutant == "seq-off-by-one" && seq > 0 {
		seq++
	}
	return seq, err
}

func (c *mutChannel) Qos(ctx context.Context, q transports.Qos) error {
	if c.mutant == "ignore-prefetch" {
		q.PrefetchCount = 0
	}
	return c.Channel.Qos(ctx, q)
}

func (c *mutChannel) Get(ctx context.Context, queue string, noAck bool) (transports.Delivery, bool, error) {
	d, ok, err := c.Channel.Get(ctx, queue, noAck)
	if c.mutant == "no-redelivered" {
		d.Redelivered = false
	}
	return d, ok, err
}

func (c *mutChannel) Close(ctx context.Context) error {
	err := c.Channel.Close(ctx)
	if c.mutant == "close-twice-errors" && c.closed {
		return errors.New("mutant: already closed")
	}
	c.closed = true
	return err
}

func (c *mutChannel) Confirm(ctx context.Context) (<-chan transports.Confirmation, error) {
	return c.Channel.(transports.Confirmer).Confirm(ctx)
}
