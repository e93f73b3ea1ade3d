package carrot

import (
	"context"
	"fmt"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
)

// DefaultSerializer is carrot's serializer: every body is JSON unless
// the config or a [conn.WithSerializer] says otherwise.
const DefaultSerializer = "json"

// PublisherConfig holds carrot's Publisher arguments. Its zero value is
// carrot's defaults; fields whose carrot default is true are negated
// (NonDurable for durable=True).
type PublisherConfig struct {
	// Exchange is the exchange to publish to; "" is the default exchange,
	// which routes by queue name and is never declared.
	Exchange string
	// RoutingKey is the default routing key of [Publisher.Send].
	RoutingKey string
	// ExchangeType is carrot's exchange_type. Empty means direct.
	ExchangeType route.Kind
	// NonDurable declares the exchange non-durable (carrot's
	// durable=False).
	NonDurable bool
	// AutoDelete declares the exchange auto-delete.
	AutoDelete bool
	// Serializer names the serializer. Empty means [DefaultSerializer].
	Serializer string
	// DeliveryMode is the default delivery mode. Zero means persistent.
	DeliveryMode route.DeliveryMode
	// NoDeclare skips declaring the exchange (carrot's
	// auto_declare=False).
	NoDeclare bool
}

// exchange is the exchange a config declares.
func exchangeOf(name string, kind route.Kind, nonDurable, autoDelete, noDeclare bool) route.Exchange {
	ex := route.NewExchange(name, kind)
	ex.Durable, ex.AutoDelete, ex.NoDeclare = !nonDurable, autoDelete, noDeclare
	return ex
}

// Publisher is carrot's Publisher: it sends messages to one exchange
// with a default routing key. It is safe for concurrent use.
type Publisher struct {
	ex   route.Exchange
	prod *conn.Producer
}

// NewPublisher declares cfg's exchange on c (unless NoDeclare, or it is
// the default exchange) and returns a Publisher for it.
func NewPublisher(ctx context.Context, c *conn.Connection, cfg PublisherConfig) (*Publisher, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: nil connection", ErrInvalidConfig)
	}
	ex := exchangeOf(cfg.Exchange, cfg.ExchangeType, cfg.NonDurable, cfg.AutoDelete, cfg.NoDeclare)
	if err := ex.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if cfg.DeliveryMode != 0 && !cfg.DeliveryMode.Valid() {
		return nil, fmt.Errorf("%w: delivery mode %d", ErrInvalidConfig, cfg.DeliveryMode)
	}
	if ex.ShouldDeclare() {
		if err := c.Declare(ctx, ex); err != nil {
			return nil, fmt.Errorf("carrot: declare exchange %q: %w", ex.Name, err)
		}
	}
	ser := cfg.Serializer
	if ser == "" {
		ser = DefaultSerializer
	}
	opts := []conn.PublishOption{conn.WithExchange(cfg.Exchange), conn.WithRoutingKey(cfg.RoutingKey), conn.WithSerializer(ser)}
	if cfg.DeliveryMode != 0 {
		opts = append(opts, conn.WithDeliveryMode(cfg.DeliveryMode))
	}
	return &Publisher{ex: ex, prod: c.Producer(opts...)}, nil
}

// Exchange returns the publisher's exchange declaration.
func (p *Publisher) Exchange() route.Exchange { return p.ex.Clone() }

// Send publishes data (carrot's send). opts override the publisher's
// defaults: [conn.WithRoutingKey], [conn.WithDeliveryMode],
// [conn.WithPriority], [conn.WithMandatory], [conn.WithSerializer],
// [conn.WithContentType], [conn.WithExchange] are carrot's keyword
// arguments. Errors are [conn.Producer.Publish]'s.
func (p *Publisher) Send(ctx context.Context, data any, opts ...conn.PublishOption) error {
	return p.prod.Publish(ctx, data, opts...)
}

// Close is carrot's close; a Publisher holds nothing, so it returns nil.
func (p *Publisher) Close() error { return nil }
