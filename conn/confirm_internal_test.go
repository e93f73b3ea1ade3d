package conn

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"testing"

	"github.com/kelpmq/kelp/internal/actor"
	"github.com/kelpmq/kelp/transports"
)

// silentChannel is a transports.Channel in confirm mode whose broker
// never confirms: only what the test needs of one.
type silentChannel struct {
	transports.Channel // unused methods panic
	mu                 sync.Mutex
	seq                uint64
	confirms           chan transports.Confirmation
	done               chan struct{}
	once               sync.Once
	inline             bool
}

func (s *silentChannel) Inline() bool { return s.inline }

func (s *silentChannel) Publish(context.Context, transports.Publishing) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return s.seq, nil
}
func (s *silentChannel) Done() <-chan struct{} { return s.done }
func (s *silentChannel) Err() error {
	select {
	case <-s.done:
		return transports.ErrConnLost
	default:
		return nil
	}
}
func (s *silentChannel) Close(context.Context) error { s.die(); return nil }
func (s *silentChannel) die() {
	s.once.Do(func() { close(s.confirms); close(s.done) })
}

// Publishes waiting for confirmations when the channel dies resolve as
// ErrConfirmLost (never as nacked), and free their window slots; a
// confirmation delivered before the death still counts.
// Both when the actor calls the driver and when publishers do (Inline).
func TestConfirmLost(t *testing.T) {
	t.Run("actor", func(t *testing.T) { testConfirmLost(t, false) })
	t.Run("inline", func(t *testing.T) { testConfirmLost(t, true) })
}

func testConfirmLost(t *testing.T, inline bool) {
	ctx := t.Context()
	c := &Connection{cfg: settings{Config: Config{Logger: slog.New(slog.DiscardHandler)}}, window: make(chan struct{}, 4)}
	fake := &silentChannel{confirms: make(chan transports.Confirmation, 4), done: make(chan struct{}), inline: inline}
	ch := &channel{act: actor.New(8), ch: fake, conn: c, log: c.cfg.Logger, confirms: fake.confirms, inline: isInline(fake),
		lock: make(chan struct{}, 1), confirming: true, window: c.window, pending: map[uint64]chan error{}}
	ch.act.Start(ctx, ch.run)
	defer ch.stop()

	errs := make(chan error, 3)
	for range 3 {
		go func() { errs <- ch.publish(ctx, transports.Publishing{}) }()
	}
	for n := 0; n < 3; { // all three published and waiting
		ch.pmu.Lock()
		n = len(ch.pending)
		ch.pmu.Unlock()
		runtime.Gosched()
	}
	fake.confirms <- transports.Confirmation{Seq: 2, Ack: true}
	fake.die()
	var lost, ok int
	for range 3 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, ErrConfirmLost) && errors.Is(err, ErrConnectionLost) && !errors.Is(err, ErrNacked):
			lost++
		default:
			t.Fatalf("unexpected %v", err)
		}
	}
	if ok != 1 || lost != 2 || len(c.window) != 0 {
		t.Fatalf("ok %d lost %d window %d", ok, lost, len(c.window))
	}
	if err := ch.publish(ctx, transports.Publishing{}); !errors.Is(err, ErrChannelClosed) {
		t.Fatalf("publish on a dead channel: %v", err)
	}
}
