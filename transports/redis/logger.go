package redis

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// logSwitch is the slog.Handler behind the Connector's logger. The store
// and the virtual broker get their logger when the Connector is made, but
// the Logger comes later, with transports.ConnectOptions; the switch lets
// Connect point every logger made from it at that Logger's handler.
type logSwitch struct {
	cur *atomic.Pointer[slog.Handler]
	// derive replays the WithAttrs and WithGroup calls made on this
	// handler onto the current target; nil for the root.
	derive func(slog.Handler) slog.Handler
}

// newLogSwitch returns a switch that discards until set.
func newLogSwitch() logSwitch {
	s := logSwitch{cur: new(atomic.Pointer[slog.Handler])}
	s.set(slog.DiscardHandler)
	return s
}

// set points the switch, and every handler derived from it, at h.
func (s logSwitch) set(h slog.Handler) { s.cur.Store(&h) }

func (s logSwitch) target() slog.Handler {
	h := *s.cur.Load()
	if s.derive != nil {
		h = s.derive(h)
	}
	return h
}

func (s logSwitch) Enabled(ctx context.Context, l slog.Level) bool { return s.target().Enabled(ctx, l) }

func (s logSwitch) Handle(ctx context.Context, r slog.Record) error { return s.target().Handle(ctx, r) }

func (s logSwitch) WithAttrs(as []slog.Attr) slog.Handler {
	prev := s.derive
	return logSwitch{cur: s.cur, derive: func(h slog.Handler) slog.Handler {
		if prev != nil {
			h = prev(h)
		}
		return h.WithAttrs(as)
	}}
}

func (s logSwitch) WithGroup(name string) slog.Handler {
	prev := s.derive
	return logSwitch{cur: s.cur, derive: func(h slog.Handler) slog.Handler {
		if prev != nil {
			h = prev(h)
		}
		return h.WithGroup(name)
	}}
}
