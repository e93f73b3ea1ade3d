package amqp

import (
	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// toPublishing converts an SPI message to amqp091's. Body is shared, not
// copied (the SPI gives the driver ownership).
func toPublishing(m transports.Message) (amqp091.Publishing, error) {
	h, err := toAMQPTable("headers", m.Headers)
	if err != nil {
		return amqp091.Publishing{}, err
	}
	p := m.Properties
	return amqp091.Publishing{
		Headers:         h,
		ContentType:     p.ContentType,
		ContentEncoding: p.ContentEncoding,
		DeliveryMode:    uint8(p.DeliveryMode),
		Priority:        p.Priority,
		CorrelationId:   p.CorrelationID,
		ReplyTo:         p.ReplyTo,
		Expiration:      p.Expiration,
		MessageId:       p.MessageID,
		Timestamp:       p.Timestamp,
		Type:            p.Type,
		UserId:          p.UserID,
		AppId:           p.AppID,
		Body:            m.Body,
	}, nil
}

// toDelivery converts a delivery of a consumer (or of basic.get) on queue.
func toDelivery(d *amqp091.Delivery, queue string) transports.Delivery {
	return transports.Delivery{
		Message: transports.Message{
			Body:    d.Body,
			Headers: fromAMQPTable(d.Headers),
			Properties: transports.Properties{
				ContentType:     d.ContentType,
				ContentEncoding: d.ContentEncoding,
				DeliveryMode:    route.DeliveryMode(d.DeliveryMode),
				Priority:        d.Priority,
				CorrelationID:   d.CorrelationId,
				ReplyTo:         d.ReplyTo,
				Expiration:      d.Expiration,
				MessageID:       d.MessageId,
				Timestamp:       d.Timestamp,
				Type:            d.Type,
				UserID:          d.UserId,
				AppID:           d.AppId,
			},
		},
		Tag:          d.DeliveryTag,
		ConsumerTag:  d.ConsumerTag,
		Exchange:     d.Exchange,
		RoutingKey:   d.RoutingKey,
		Queue:        queue,
		Redelivered:  d.Redelivered,
		MessageCount: int(d.MessageCount),
	}
}

// toReturn converts a returned message.
func toReturn(r amqp091.Return) transports.Return {
	return transports.Return{
		ReplyCode: int(r.ReplyCode),
		ReplyText: r.ReplyText,
		Publishing: transports.Publishing{
			Exchange:   r.Exchange,
			RoutingKey: r.RoutingKey,
			Mandatory:  true,
			Message: transports.Message{
				Body:    r.Body,
				Headers: fromAMQPTable(r.Headers),
				Properties: transports.Properties{
					ContentType:     r.ContentType,
					ContentEncoding: r.ContentEncoding,
					DeliveryMode:    route.DeliveryMode(r.DeliveryMode),
					Priority:        r.Priority,
					CorrelationID:   r.CorrelationId,
					ReplyTo:         r.ReplyTo,
					Expiration:      r.Expiration,
					MessageID:       r.MessageId,
					Timestamp:       r.Timestamp,
					Type:            r.Type,
					UserID:          r.UserId,
					AppID:           r.AppId,
				},
			},
		},
	}
}
