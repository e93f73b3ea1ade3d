package beanstalk

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/virtual"
)

func init() { transports.Register("beanstalk", driver{}) }

// driver opens connectors for beanstalk:// URLs.
type driver struct{}

// OpenConnector parses rawURL with [ParseURL].
func (driver) OpenConnector(rawURL string) (transports.Connector, error) {
	cfg, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	return NewConnector(cfg)
}

// Connector talks to one beanstalkd server and implements
// [transports.Connector]. Its Conns share one topology (exchanges,
// bindings, queue definitions: all in this process, see the package
// documentation), one server connection and one goroutine that touches
// the jobs the process holds; both exist while at least one Conn is live.
//
// A Connector is safe for concurrent use.
type Connector struct {
	cfg    Config
	st     *store
	broker *virtual.Broker

	life   virtual.Lifecycle
	cancel context.CancelFunc // stops the touch goroutine while a Conn is live
	done   chan struct{}
}

var _ transports.Connector = (*Connector)(nil)

// NewConnector returns a Connector for cfg after validating it. It does
// no I/O.
func NewConnector(cfg Config) (*Connector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Connector{cfg: cfg, st: newStore(cfg)}
	c.broker = virtual.NewBroker(c.st, virtual.Config{Logger: cfg.Logger})
	c.life = virtual.Lifecycle{Name: "beanstalk", Broker: c.broker, Start: c.start, Stop: c.stop}
	return c, nil
}

// Config returns the Connector's settings, with defaults filled in.
func (c *Connector) Config() Config { return c.cfg }

// Address returns the server's URL.
func (c *Connector) Address() string { return "beanstalk://" + c.cfg.Addr }

// Connect opens a connection: it makes sure the server answers and
// returns a [transports.Conn] over the shared topology. An unreachable
// server gives an error wrapping [transports.ErrConnLost].
func (c *Connector) Connect(ctx context.Context, opts transports.ConnectOptions) (transports.Conn, error) {
	return c.life.Connect(ctx, opts)
}

// start checks the server for the first live Conn and starts touching the
// jobs it holds.
func (c *Connector) start(context.Context) error {
	if err := c.st.ping(); err != nil {
		return fmt.Errorf("%w: %w", transports.ErrConnLost, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		t := time.NewTicker(c.cfg.TTR / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.st.touchHeld()
			}
		}
	}(c.done)
	return nil
}

// stop ends the touching and closes the server connection after the last
// Conn ended.
func (c *Connector) stop() {
	c.cancel()
	<-c.done
	c.st.close()
}

// DropConnections kills every live Conn of the Connector and the server
// connection under them, as a network failure would (Err wraps
// [transports.ErrConnLost]): beanstalkd releases the jobs they held. It
// returns how many Conns there were. New Connects succeed. It is meant
// for tests of reconnection.
func (c *Connector) DropConnections() int {
	c.st.close()
	return c.broker.DropConnections("", errors.New("beanstalk: connection dropped"))
}

// Kick moves up to n buried messages of queue back to the ready state, at
// the head of their priority, and returns how many it moved: the way back
// for messages the transport buried (see [Config.NoBury]) or, with
// beanstalkd's own kick command on the tube, for any job. A kicked message
// is delivered marked redelivered, even one buried for having expired. It
// needs no live Conn.
func (c *Connector) Kick(ctx context.Context, queue string, n int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("beanstalk: kick: %w", err)
	}
	if n <= 0 {
		return 0, nil
	}
	var kicked int
	var err error
	if c.life.Idle(func() {
		// No Conn owns the server connection: close the one kick opens.
		defer c.st.close()
		kicked, err = c.st.kick(queue, n)
	}) {
		return kicked, err
	}
	return c.st.kick(queue, n)
}
