// Package transports is kelp's driver SPI: the interfaces a broker driver
// implements, the registry that maps URL schemes to drivers, and the error
// signals drivers use to tell package conn what happened.
//
// It plays the role database/sql/driver plays for database/sql. Users do not
// import it to send or receive messages; they import package conn, which
// turns these small, byte-level interfaces into the user API (serialization,
// retries, reconnects, topology replay, prefetch accounting, settling rules).
// Keeping the hard parts in conn keeps drivers small: a driver moves raw
// envelopes and runs broker commands, nothing more.
//
// # Who calls what
//
// A [Driver] is registered under one or more URL schemes with [Register],
// normally from the driver package's init function. [OpenConnector] finds the
// driver for a URL and asks it for a [Connector], which holds the parsed
// address and options and can dial any number of times. Each successful
// [Connector.Connect] yields a [Conn]; a Conn opens [Channel] values; a
// Channel declares topology, publishes, consumes, gets and settles.
//
// Package conn owns every Conn and Channel it opens: one goroutine (an actor)
// per Conn and one per Channel. The concurrency contract below is written
// for that usage, and drivers may rely on it.
//
// # Concurrency contract
//
//   - [Driver], [Connector] and the registry functions are safe for
//     concurrent use.
//   - A [Conn] is safe for concurrent use.
//   - A [Channel] is driven by one goroutine at a time: conn never calls two
//     Channel methods concurrently on the same Channel (it holds a lock
//     per Channel; successive calls may come from different goroutines). The exceptions are
//     Done and Err, which any goroutine may call at any time, and the Go
//     channels a Channel hands out (deliveries, confirmations, returns),
//     which any goroutine may receive from.
//   - Every Go channel a driver hands out is closed by the driver exactly
//     once, when the thing it reports on has ended. Receivers drain them
//     promptly; a driver may block on a send to them, so the amount of data
//     in flight on each must be bounded (by prefetch, by the number of
//     unconfirmed publishes, or by the protocol's own flow control).
//
// # Errors drivers return, and what they mean
//
// Drivers signal with the sentinels in errors.go, wrapped with %w and with
// as much context as they like. Package conn classifies errors in one
// function and reacts by rule:
//
//   - [ErrConnLost]: the connection is dead. conn reconnects (with backoff,
//     across the failover list), replays topology and resumes consumers.
//     Every Channel of that Conn is dead too.
//   - [ErrChannelClosed]: this Channel is unusable but the Conn may be fine.
//     conn opens a new Channel and replays what that channel owned.
//   - A [*Error] carries a broker reply code (404 not found, 406
//     precondition failed, ...). Codes are AMQP 0-9-1's; every driver maps
//     its failures onto them so users see one taxonomy across transports.
//     Errors match by code: errors.Is(err, [ErrNotFound]) is true for any
//     *Error with code 404. A channel-level code closes the Channel (as in
//     AMQP) and a connection-level code closes the Conn.
//   - [ErrUnsupported] (which wraps errors.ErrUnsupported): the transport
//     cannot do this at all. conn surfaces it and never retries it.
//   - [ErrConsumerCancelled]: the broker ended a consumer on its own (the
//     queue was deleted, a node failed over). conn re-declares and
//     resubscribes, or ends the user's consumer with a clear error.
//   - context errors: a driver returns ctx.Err() (wrapped) when the ctx passed
//     to a method ends first. If the operation may have reached the broker
//     anyway, the driver must close the Channel rather than leave it in an
//     unknown state, and say so by also wrapping ErrChannelClosed.
//
// # Optional capabilities
//
// Beyond the core interfaces a driver may implement [Confirmer] (publisher
// confirms), [Returner] (returned mandatory messages), [BlockNotifier]
// (connection.blocked), [ExchangeBinder] (exchange-to-exchange bindings),
// [Recoverer] (basic.recover) and [Inline] (Publish, Ack and Nack return
// promptly, so conn calls them without a goroutine hop). conn discovers them by type assertion, in one
// place, and falls back to a documented behaviour when they are missing.
package transports
