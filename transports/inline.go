package transports

// Inline is implemented by channels whose Publish, Ack and Nack return
// promptly: they make no broker round trip (an in-process store, or a
// frame queued for a writer goroutine), and any wait in them ends when
// their ctx ends. conn then calls those three methods on the publishing or
// settling goroutine, holding the channel's lock, instead of handing each
// call to the channel's actor and waiting for it, which costs two
// goroutine switches. Other methods, and every method of a channel
// without this capability, still run on the actor, so a driver whose
// calls overrun their ctx never holds a caller past its deadline.
type Inline interface {
	// Inline reports whether the capability holds for this channel.
	Inline() bool
}
