package conn

import (
	"context"
	"fmt"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// This file is the one place where conn discovers the optional
// capabilities of a transport, and decides what happens without them.

// confirmMode puts ch in confirm mode when the transport supports it and
// confirms are wanted. It returns nil confirmations otherwise: publishes
// then succeed once the driver took them.
func confirmMode(ctx context.Context, ch transports.Channel, want bool) (<-chan transports.Confirmation, error) {
	c, ok := ch.(transports.Confirmer)
	if !ok || !want {
		return nil, nil
	}
	return c.Confirm(ctx)
}

// returnsOf returns the channel of returned mandatory messages outside
// confirm mode, or nil when the transport cannot return messages (the
// mandatory flag is then ignored by the driver).
func returnsOf(ch transports.Channel) <-chan transports.Return {
	if r, ok := ch.(transports.Returner); ok {
		return r.Returns()
	}
	return nil
}

// blockedOf returns the flow-control notifications of c, or nil when the
// broker cannot block publishers (the connection then never enters
// [Blocked]).
func blockedOf(c transports.Conn) <-chan transports.Blocking {
	if b, ok := c.(transports.BlockNotifier); ok {
		return b.Blocked()
	}
	return nil
}

// exchangeBind binds exchange to exchange, or fails with an error wrapping
// [transports.ErrUnsupported] on a transport without that extension.
func exchangeBind(ctx context.Context, ch transports.Channel, dest, source, key string, args route.Table) error {
	b, ok := ch.(transports.ExchangeBinder)
	if !ok {
		return fmt.Errorf("conn: exchange-to-exchange bindings: %w", transports.ErrUnsupported)
	}
	return b.ExchangeBind(ctx, dest, source, key, args)
}

// recoverChannel asks the broker to redeliver ch's unsettled deliveries,
// or fails with an error wrapping [transports.ErrUnsupported].
func recoverChannel(ctx context.Context, ch transports.Channel, requeue bool) error {
	r, ok := ch.(transports.Recoverer)
	if !ok {
		return fmt.Errorf("conn: basic.recover: %w", transports.ErrUnsupported)
	}
	return r.Recover(ctx, requeue)
}

// isInline reports whether conn may call ch's Publish, Ack and Nack on
// the caller's goroutine (see [transports.Inline]).
func isInline(ch transports.Channel) bool {
	i, ok := ch.(transports.Inline)
	return ok && i.Inline()
}
