package pidbox

import "sync/atomic"

// Clock is a Lamport logical clock, as kombu.clocks.LamportClock: every
// message a [Mailbox] or [Node] sends carries [Clock.Forward] in its
// `clock` header, and every message received moves the clock past the
// sender's with [Clock.Adjust]. Share one Clock between mailboxes to
// order their events together.
//
// The zero value starts at 0. A Clock is safe for concurrent use and must
// not be copied after first use.
type Clock struct {
	v atomic.Uint64
}

// Value returns the clock's current value.
func (c *Clock) Value() uint64 { return c.v.Load() }

// Forward advances the clock by one, for an event about to be sent, and
// returns the new value.
func (c *Clock) Forward() uint64 { return c.v.Add(1) }

// Adjust moves the clock to one past the larger of its value and other,
// for a received event carrying other, and returns the new value.
func (c *Clock) Adjust(other uint64) uint64 {
	for {
		cur := c.v.Load()
		next := max(cur, other) + 1
		if c.v.CompareAndSwap(cur, next) {
			return next
		}
	}
}
