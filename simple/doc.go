// Package simple is Kombu's SimpleQueue and SimpleBuffer for kelp: a
// broker queue used like a Go queue, on every transport.
//
//	q, err := simple.NewQueue(ctx, c, "jobs")
//	...
//	defer q.Close()
//	err = q.Put(ctx, map[string]int{"n": 1})
//	d, err := q.Get(ctx) // waits for a message or ctx's end
//	...
//	err = d.Ack(ctx)
//
// # Queues and buffers
//
// [NewQueue] declares Kombu's SimpleQueue topology for a name
// ([QueueFor]): a durable queue and a durable direct exchange, both
// called by the name, bound with the name as routing key. [NewBuffer]
// declares SimpleBuffer's ([BufferFor]): a non-durable, auto-delete,
// exclusive queue with a non-durable, auto-delete exchange, transient
// messages, and no-ack consumption. [New] takes any named [route.Queue].
// The topology is declared through the [conn.Connection], which replays
// it after every reconnect. A kelp Queue and a Kombu SimpleQueue of the
// same name are one queue (tested both ways on RabbitMQ and Redis).
//
// # Getting messages
//
// [Queue.Get] blocks until a message arrives or its ctx ends; it runs a
// consumer (started by the first Get, with prefetch 1 unless
// [WithPrefetch] says otherwise) that survives reconnects and keeps
// taking its prefetch from the queue until [Queue.Close], as Kombu's does.
// [Queue.TryGet] polls with basic.get. Both return a [conn.Delivery],
// which must be settled (Ack, Reject, Requeue) unless the queue is
// no-ack. No message: [ErrEmpty], which also matches
// [context.DeadlineExceeded] when Get's deadline passed.
//
// [Queue.Len] counts the ready messages and is 0 for an empty queue on
// every transport (Kombu's Redis transport fails there instead).
// [Queue.Clear] purges and returns the count.
//
// # Ownership and concurrency
//
// A [Queue] is safe for concurrent use and starts no goroutine of its
// own: the consumer behind Get belongs to the connection, and
// [Queue.Close] stops it (unsettled deliveries go back to the queue).
// Close does not close the connection, nor delete the queue.
//
// # Errors
//
// Errors match [ErrEmpty], [ErrClosed], [ErrInvalidOption], or the
// [conn] error they wrap ([conn.ErrNotFound], [conn.ErrTimeout], ...).
package simple
