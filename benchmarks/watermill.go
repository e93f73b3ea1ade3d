package benchmarks

import (
	"context"
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill"
	wamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	amqp091 "github.com/rabbitmq/amqp091-go"
)

// WatermillAMQPVersion is the watermill-amqp release measured (pinned in
// go.mod).
const WatermillAMQPVersion = "v3.0.2"

// subscriber is what the Watermill sessions consume through.
type subscriber interface {
	Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error)
}

// consumeWatermill acks every message of sub's topic, then calls fn, until
// stopped.
func consumeWatermill(ctx context.Context, sub subscriber, topic string, fn func([]byte)) (func(), error) {
	cctx, cancel := context.WithCancel(ctx)
	msgs, err := sub.Subscribe(cctx, topic)
	if err != nil {
		cancel()
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range msgs {
			m.Ack()
			fn(m.Payload)
		}
	}()
	return func() {
		cancel()
		<-done
	}, nil
}

// WatermillGoChannel is Watermill's in-process GoChannel pub/sub, the
// peer of kelp's memory transport. It is persistent, so that messages
// published before the subscriber arrive; it has no prefetch, no
// confirms and no topic routing.
func WatermillGoChannel() Target {
	return Target{Impl: "watermill", Transport: "memory", Open: func(ctx context.Context) (Session, error) {
		return &goChannelSession{gc: gochannel.NewGoChannel(gochannel.Config{Persistent: true}, watermill.NopLogger{})}, nil
	}}
}

// goChannelSession is one GoChannel.
type goChannelSession struct{ gc *gochannel.GoChannel }

// NewQueue implements Session: a topic.
func (s *goChannelSession) NewQueue(ctx context.Context, bindings int) (string, error) {
	if bindings > 0 {
		return "", ErrUnsupported
	}
	return Unique("bench"), nil
}

// Publisher implements Session.
func (s *goChannelSession) Publisher(ctx context.Context, topic string, confirm bool) (Publisher, error) {
	return func(ctx context.Context, body []byte) error {
		return s.gc.Publish(topic, message.NewMessage(watermill.NewUUID(), body))
	}, nil
}

// Fill implements Session.
func (s *goChannelSession) Fill(ctx context.Context, topic string, n int, body []byte) error {
	pub, _ := s.Publisher(ctx, topic, false)
	return spread(ctx, fillPublishers, n, body, pub)
}

// Consume implements Session.
func (s *goChannelSession) Consume(ctx context.Context, topic string, prefetch int, fn func([]byte)) (func(), error) {
	return consumeWatermill(ctx, s.gc, topic, fn)
}

// DeleteQueue implements Session; a topic needs no deletion.
func (s *goChannelSession) DeleteQueue(ctx context.Context, topic string) error { return nil }

// Close implements Session.
func (s *goChannelSession) Close(ctx context.Context) error { return s.gc.Close() }

// WatermillAMQP is watermill-amqp [WatermillAMQPVersion] on the RabbitMQ
// at url, with its non-durable queue configuration (a queue per topic,
// through the default exchange).
func WatermillAMQP(url string) Target {
	return Target{Impl: "watermill-amqp", Transport: "amqp", Open: func(ctx context.Context) (Session, error) {
		return &watermillAMQPSession{url: url}, nil
	}}
}

// watermillAMQPSession makes publishers and subscribers per call, as their
// settings differ.
type watermillAMQPSession struct {
	url     string
	closers []func() error
}

// config returns the non-durable queue configuration.
func (s *watermillAMQPSession) config() wamqp.Config {
	return wamqp.NewNonDurableQueueConfig(s.url)
}

// NewQueue implements Session. The queue is declared as watermill's
// subscriber declares it, since its publisher declares nothing.
func (s *watermillAMQPSession) NewQueue(ctx context.Context, bindings int) (string, error) {
	if bindings > 0 {
		return "", ErrUnsupported
	}
	q := Unique("bench")
	return q, s.onChannel(func(ch *amqp091.Channel) error {
		_, err := ch.QueueDeclare(q, false, false, false, false, nil)
		return err
	})
}

// onChannel runs fn on a channel of a connection of its own.
func (s *watermillAMQPSession) onChannel(fn func(ch *amqp091.Channel) error) error {
	c, err := amqp091.Dial(s.url)
	if err != nil {
		return fmt.Errorf("benchmarks: dial: %w", err)
	}
	defer c.Close()
	ch, err := c.Channel()
	if err != nil {
		return err
	}
	return fn(ch)
}

// Publisher implements Session.
func (s *watermillAMQPSession) Publisher(ctx context.Context, topic string, confirm bool) (Publisher, error) {
	cfg := s.config()
	cfg.Publish.ConfirmDelivery = confirm
	cfg.Publish.ChannelPoolSize = fillPublishers
	p, err := wamqp.NewPublisher(cfg, watermill.NopLogger{})
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, p.Close)
	return func(ctx context.Context, body []byte) error {
		return p.Publish(topic, message.NewMessage(watermill.NewUUID(), body))
	}, nil
}

// Fill implements Session.
func (s *watermillAMQPSession) Fill(ctx context.Context, topic string, n int, body []byte) error {
	pub, err := s.Publisher(ctx, topic, true)
	if err != nil {
		return err
	}
	return spread(ctx, fillPublishers, n, body, pub)
}

// Consume implements Session.
func (s *watermillAMQPSession) Consume(ctx context.Context, topic string, prefetch int, fn func([]byte)) (func(), error) {
	cfg := s.config()
	cfg.Consume.Qos.PrefetchCount = prefetch
	sub, err := wamqp.NewSubscriber(cfg, watermill.NopLogger{})
	if err != nil {
		return nil, err
	}
	stop, err := consumeWatermill(ctx, sub, topic, fn)
	if err != nil {
		return nil, errors.Join(err, sub.Close())
	}
	return func() {
		_ = sub.Close()
		stop()
	}, nil
}

// DeleteQueue implements Session.
func (s *watermillAMQPSession) DeleteQueue(ctx context.Context, topic string) error {
	return s.onChannel(func(ch *amqp091.Channel) error {
		_, err := ch.QueueDelete(topic, false, false, false)
		return err
	})
}

// Close implements Session.
func (s *watermillAMQPSession) Close(ctx context.Context) error {
	var errs []error
	for _, c := range s.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}
