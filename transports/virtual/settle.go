package virtual

import (
	"context"
	"sort"
)

// pending is an unsettled delivery of a channel.
type pending struct {
	tag     uint64
	q       *queue
	cons    *consumer // nil for basic.get
	claim   Claim
	settled bool
}

// window holds a channel's unsettled deliveries in tag order. Tags only
// grow, so new entries append; settled entries at the front are dropped and
// the slice is compacted now and then, so the window costs O(1) per
// delivery and its size follows the number of unsettled deliveries (plus
// those settled out of order behind the oldest unsettled one).
type window struct {
	items []pending
	off   int
}

func (w *window) push(p pending) { w.items = append(w.items, p) }

// find returns the index of tag, or -1.
func (w *window) find(tag uint64) int {
	live := w.items[w.off:]
	i := sort.Search(len(live), func(i int) bool { return live[i].tag >= tag })
	if i < len(live) && live[i].tag == tag && !live[i].settled {
		return w.off + i
	}
	return -1
}

// take marks entry i settled and returns it.
func (w *window) take(i int) pending {
	p := w.items[i]
	w.items[i] = pending{tag: p.tag, settled: true}
	return p
}

// trim drops settled entries from the front and compacts.
func (w *window) trim() {
	for w.off < len(w.items) && w.items[w.off].settled {
		w.off++
	}
	switch {
	case w.off == len(w.items):
		clear(w.items)
		w.items, w.off = w.items[:0], 0
	case w.off > 32 && w.off*2 > len(w.items):
		n := copy(w.items, w.items[w.off:])
		clear(w.items[n:])
		w.items, w.off = w.items[:n], 0
	}
}

// takeUpTo appends to dst every unsettled entry with a tag up to tag (every
// one when tag is 0), marking them settled.
func (w *window) takeUpTo(dst []pending, tag uint64) []pending {
	for i := w.off; i < len(w.items) && (tag == 0 || w.items[i].tag <= tag); i++ {
		if !w.items[i].settled {
			dst = append(dst, w.take(i))
		}
	}
	w.trim()
	return dst
}

// takeAll appends every unsettled entry to dst and empties the window.
func (w *window) takeAll(dst []pending) []pending { return w.takeUpTo(dst, 0) }

// takeLocked removes the deliveries an Ack or Nack settles and updates the
// prefetch accounting. An unknown tag is a 406, as in AMQP.
func (ch *Channel) takeLocked(tag uint64, multiple bool) ([]pending, error) {
	ps := ch.settled[:0]
	if multiple {
		ps = ch.win.takeUpTo(ps, tag)
		if len(ps) == 0 && tag != 0 {
			return nil, errUnknownTag(tag)
		}
	} else {
		i := ch.win.find(tag)
		if i < 0 {
			return nil, errUnknownTag(tag)
		}
		ps = append(ps, ch.win.take(i))
		ch.win.trim()
	}
	ch.releaseLocked(ps)
	ch.settled = ps
	return ps, nil
}

// releaseLocked gives the prefetch credit of settled deliveries back and
// wakes the consumers that waited for it.
func (ch *Channel) releaseLocked(ps []pending) {
	ch.unacked -= len(ps)
	for i := range ps {
		if c := ps[i].cons; c != nil {
			c.unacked--
			if c.waiting {
				c.wake()
			}
		}
	}
	if ch.global > 0 {
		ch.kickAllLocked()
	}
}

// kickAllLocked wakes every consumer waiting for credit.
func (ch *Channel) kickAllLocked() {
	for _, c := range ch.consumers {
		if c.waiting {
			c.wake()
		}
	}
}

// take is the common start of Ack and Nack: it removes the deliveries
// they settle, or fails (closing the channel for an unknown tag).
func (ch *Channel) take(ctx context.Context, op string, tag uint64, multiple bool) ([]pending, error) {
	if err := ch.check(ctx, op); err != nil {
		return nil, err
	}
	ch.mu.Lock()
	ps, err := ch.takeLocked(tag, multiple)
	ch.mu.Unlock()
	if err != nil {
		return nil, ch.fail(err)
	}
	return ps, nil
}

// Ack acknowledges one delivery, or with multiple every unsettled delivery
// up to tag (all of them when tag is 0).
func (ch *Channel) Ack(ctx context.Context, tag uint64, multiple bool) error {
	if ch.b.acker != nil {
		return ch.ackAsync(ctx, tag, multiple)
	}
	ps, err := ch.take(ctx, "basic.ack", tag, multiple)
	if err != nil {
		return err
	}
	be := ch.b.backend
	for i := range ps {
		_ = be.Ack(ctx, &ps[i].claim)
		ps[i] = pending{}
	}
	return nil
}

// ackAsync is Ack for a [BatchAcker] store: the deliveries leave the
// window and give their prefetch credit back at once (a second ack of a
// tag is a 406), and the settler acks them in the store. When the channel
// is closing (its settler gone) they are settled here.
func (ch *Channel) ackAsync(ctx context.Context, tag uint64, multiple bool) error {
	if err := ch.check(ctx, "basic.ack"); err != nil {
		return err
	}
	ch.mu.Lock()
	ps := ch.settled[:0]
	var err error
	if multiple {
		ps = ch.win.takeUpTo(ps, tag)
		if len(ps) == 0 && tag != 0 {
			err = errUnknownTag(tag)
		}
	} else if i := ch.win.find(tag); i < 0 {
		err = errUnknownTag(tag)
	} else {
		ps = append(ps, ch.win.take(i))
		ch.win.trim()
	}
	if err != nil {
		ch.mu.Unlock()
		return ch.fail(err)
	}
	if ch.acks == nil && !ch.closing {
		ch.acks = newAcker(ch.b.acker)
	}
	handed := ch.acks != nil && ch.acks.add(ps...)
	ch.releaseLocked(ps)
	ch.mu.Unlock()
	if !handed {
		be := ch.b.backend
		for i := range ps {
			_ = be.Ack(ctx, &ps[i].claim)
		}
	}
	clear(ps)
	ch.settled = ps[:0]
	return nil
}

// Nack rejects one delivery, or with multiple every unsettled delivery up
// to tag. With requeue they return to the head of their queues, marked
// redelivered; without, they are dead-lettered (reason "rejected") when
// their queue has a dead-letter exchange, or dropped (kept aside by a
// store that implements [Discarder]).
func (ch *Channel) Nack(ctx context.Context, tag uint64, multiple, requeue bool) error {
	ps, err := ch.take(ctx, "basic.nack", tag, multiple)
	if err != nil {
		return err
	}
	if requeue {
		ch.requeue(ctx, ps)
	} else {
		for i := range ps {
			ch.b.discard(ctx, ps[i].q, &ps[i].claim, reasonRejected)
		}
	}
	clear(ps)
	return nil
}

// Recover requeues every unsettled delivery of the channel, marked
// redelivered. requeue false is treated as true: the SPI allows the broker
// to redeliver to any consumer.
func (ch *Channel) Recover(ctx context.Context, requeue bool) error {
	if err := ch.check(ctx, "basic.recover"); err != nil {
		return err
	}
	ch.mu.Lock()
	ps := ch.win.takeAll(nil)
	ch.releaseLocked(ps)
	ch.mu.Unlock()
	ch.requeue(ctx, ps)
	return nil
}

// requeue returns settled-by-requeue deliveries to their queues, newest
// first, so that each queue ends up with them at its head in their
// original order. Messages whose queue is gone are dropped.
func (ch *Channel) requeue(ctx context.Context, ps []pending) {
	be := ch.b.backend
	for i := len(ps) - 1; i >= 0; i-- {
		c := &ps[i].claim
		c.Envelope.Redelivered = true
		if err := be.Requeue(ctx, c); err == nil && !c.Envelope.Expires.IsZero() {
			ps[i].q.armExpiry(c.Envelope.Expires)
		}
	}
}
