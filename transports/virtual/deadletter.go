package virtual

import (
	"bytes"
	"context"
	"time"

	"github.com/kelpmq/kelp/route"
)

// Dead-letter reasons, as RabbitMQ writes them in x-death.
const (
	reasonRejected = "rejected"
	reasonExpired  = "expired"
	reasonMaxLen   = "maxlen"
)

// deadLetter republishes a message that left q without being consumed
// (rejected without requeue, expired, dropped by overflow) to q's
// dead-letter exchange, with q's dead-letter routing key or its own, and an
// x-death header in RabbitMQ's shape. Without a dead-letter exchange, or when
// that exchange is missing, the message is dropped. A message that would
// return to a queue it already died in, with no rejection in the cycle, is
// dropped there (RabbitMQ's cycle rule).
func (b *Broker) deadLetter(q *queue, env *Envelope, reason string) {
	if !q.hasDLX {
		return
	}
	now := time.Now()
	key := env.RoutingKey
	if q.dlrk != "" {
		key = q.dlrk
	}
	dl := Envelope{Message: env.Message, Exchange: q.dlx, RoutingKey: key}
	dl.Headers = addDeath(env.Headers.Clone(), q.name, reason, env.Exchange, env.RoutingKey, env.Expiration, now)
	dl.Expiration = ""

	s := b.getScratch()
	defer b.putScratch(s)
	if err := b.route(context.Background(), dl.Exchange, dl.RoutingKey, dl.Headers, s, false); err != nil {
		b.log.Debug("virtual: dead-letter exchange missing, message dropped", "queue", q.name, "dlx", q.dlx)
		return
	}
	deaths, _ := dl.Headers["x-death"].([]any)
	first := true
	for _, t := range s.queues {
		if deadLetterCycle(deaths, t.name) {
			continue
		}
		e := dl
		if !first {
			e.Body = bytes.Clone(e.Body)
			e.Headers = e.Headers.Clone()
		}
		first = false
		if _, err := t.enqueue(context.Background(), &e, 0, false, now); err != nil {
			b.log.Warn("virtual: dead-lettering failed", "queue", t.name, "err", err)
		}
	}
}

// deadLetterCycle reports whether dead-lettering into queue would close a
// cycle without a rejection in it.
func deadLetterCycle(deaths []any, queue string) bool {
	seen := false
	for _, d := range deaths {
		t := asTable(d)
		if t["reason"] == reasonRejected {
			return false
		}
		if t["queue"] == queue {
			seen = true
		}
	}
	return seen
}

// addDeath records one dead-lettering in headers h (which the caller owns)
// and returns them: the x-death entry for (queue, reason) is counted up and
// moved to the front, or a new one is put there; x-first-death-* are set
// once and x-last-death-* every time.
func addDeath(h route.Table, queue, reason, exchange, key, expiration string, now time.Time) route.Table {
	if h == nil {
		h = make(route.Table, 8)
	}
	old, _ := h["x-death"].([]any)
	deaths := make([]any, 0, len(old)+1)
	var entry route.Table
	for _, d := range old {
		t := asTable(d)
		if entry == nil && t["queue"] == queue && t["reason"] == reason {
			entry = t
			continue
		}
		deaths = append(deaths, d)
	}
	if entry != nil {
		entry["count"] = asInt64(entry["count"]) + 1
		entry["time"] = now.Truncate(time.Second)
	} else {
		entry = route.Table{
			"queue":        queue,
			"reason":       reason,
			"count":        int64(1),
			"time":         now.Truncate(time.Second),
			"exchange":     exchange,
			"routing-keys": []any{key},
		}
		if expiration != "" {
			entry["original-expiration"] = expiration
		}
	}
	h["x-death"] = append([]any{entry}, deaths...)
	if _, ok := h["x-first-death-queue"]; !ok {
		h["x-first-death-queue"] = queue
		h["x-first-death-reason"] = reason
		h["x-first-death-exchange"] = exchange
	}
	h["x-last-death-queue"] = queue
	h["x-last-death-reason"] = reason
	h["x-last-death-exchange"] = exchange
	return h
}

// asTable reads a table value, whichever map type holds it.
func asTable(v any) route.Table {
	switch t := v.(type) {
	case route.Table:
		return t
	case map[string]any:
		return route.Table(t)
	}
	return nil
}

// asInt64 reads an integer of any Go type (or a whole float), else 0.
func asInt64(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int8:
		return int64(n)
	case int16:
		return int64(n)
	case int32:
		return int64(n)
	case int64:
		return n
	case uint8:
		return int64(n)
	case uint16:
		return int64(n)
	case uint32:
		return int64(n)
	case uint64:
		return int64(n)
	case float64:
		return int64(n)
	}
	return 0
}
