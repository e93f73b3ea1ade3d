// Package carrot is a thin carrot-style layer over kelp, for porting
// designs from carrot (Kombu's predecessor) and from kombu.compat. It
// keeps carrot's vocabulary — Publisher.Send, Consumer.Fetch, Wait,
// IterConsume, IterQueue, RegisterCallback, DiscardAll — on top of
// [conn], and is wire-compatible both ways: carrot sent plain AMQP
// messages with content type, encoding, delivery mode and priority,
// exactly what kelp sends and reads, so carrot-era JSON and raw messages
// decode unchanged.
//
// New code should use [conn] directly (or package simple); this package
// exists to make a port mechanical.
//
// # Mapping
//
//	carrot / kombu.compat                       kelp
//	------------------------------------------  ----------------------------------------------------
//	BrokerConnection(hostname, userid, ...)     conn.Dial(ctx, "amqp://user:pass@host:5672/vhost")
//	conn.close()                                (*conn.Connection).Close(ctx)
//	Publisher(conn, exchange, routing_key, ...) NewPublisher(ctx, c, PublisherConfig{...})
//	  exchange_type="direct"                      PublisherConfig.ExchangeType ("" = direct)
//	  durable=True / False                        NonDurable false / true
//	  auto_delete, serializer, delivery_mode      AutoDelete, Serializer ("" = json), DeliveryMode
//	  auto_declare=False                          NoDeclare
//	publisher.send(data, routing_key=..., ...)  (*Publisher).Send(ctx, data, conn.WithRoutingKey(...), ...)
//	  delivery_mode, priority, mandatory          conn.WithDeliveryMode, WithPriority, WithMandatory
//	  serializer, content_type, exchange          conn.WithSerializer, WithContentType, WithExchange
//	  immediate                                   (not supported: RabbitMQ dropped it)
//	Consumer(conn, queue, exchange, ...)        NewConsumer(ctx, c, ConsumerConfig{...})
//	  routing_key, exchange_type, exclusive       RoutingKey, ExchangeType, Exclusive
//	  durable, auto_delete, no_ack                NonDurable, AutoDelete, NoAck
//	  queue_arguments, auto_declare=False         QueueArguments, NoDeclare
//	  auto_ack, warn_if_exists                    (none: settle in the callback)
//	consumer.fetch()            → msg or None   (*Consumer).Fetch(ctx) → *Message or ErrEmpty
//	consumer.register_callback(cb)              (*Consumer).RegisterCallback(func(ctx, data, msg))
//	consumer.receive(data, msg)                 (*Consumer).Receive(ctx, msg)
//	consumer.wait(limit)                        (*Consumer).Wait(ctx, limit)
//	consumer.iterconsume(limit)                 for m, err := range (*Consumer).IterConsume(ctx, limit)
//	consumer.iterqueue(limit, infinite)         for m, err := range (*Consumer).IterQueue(ctx, limit, infinite)
//	consumer.discard_all()                      (*Consumer).DiscardAll(ctx)
//	consumer.close() / cancel()                 (*Consumer).Close()
//	consumer.qos(prefetch_count=n)              ConsumerConfig.Prefetch
//	message.decode() / .payload                 (*Message).Decode(&v) / (*Message).Payload()
//	message.ack() / reject() / requeue()        (*Message).Ack(ctx) / Reject(ctx) / Requeue(ctx)
//	message.body, content_type, delivery_info   Message.Body, .ContentType, .Info
//	MessageStateError (settled twice)           conn.ErrAlreadySettled
//	ConsumerSet, Messaging, process_next        (not provided: use conn.Connection.Consume)
//
// # Concurrency and ownership
//
// [Publisher] and [Consumer] are safe for concurrent use and start no
// goroutines; the consumer behind [Consumer.Wait] and
// [Consumer.IterConsume] belongs to the connection and is stopped by
// [Consumer.Close]. Neither closes the connection. Callbacks run on the
// goroutine that called Wait, IterConsume or Receive.
//
// # Errors
//
// [ErrEmpty] (also [conn.ErrEmpty]), [ErrNoCallbacks], [ErrClosed],
// [ErrInvalidConfig] (also [conn.ErrInvalidOption]); otherwise the
// [conn] errors wrapped with %w.
package carrot
