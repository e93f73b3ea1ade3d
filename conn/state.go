package conn

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// State is a state of a [Connection]:
//
//	StateConnecting → StateOpen ⇄ StateBlocked → StateReconnecting → StateOpen ...
//	any state → StateClosing → StateClosed
//
// Reconnecting may also end in StateClosed directly, when the reconnect
// policy gives up.
type State int

const (
	// StateConnecting: the first connection attempt is under way.
	StateConnecting State = iota
	// StateOpen: connected; operations go through.
	StateOpen
	// StateBlocked: connected, but the broker has paused publishing (RabbitMQ's
	// resource alarms). Publishes wait; consuming goes on.
	StateBlocked
	// StateReconnecting: the connection was lost and kelp is dialing again with
	// backoff. Operations wait (bounded by their ctx).
	StateReconnecting
	// StateClosing: [Connection.Close] was called and is draining.
	StateClosing
	// StateClosed: the connection is gone for good.
	StateClosed
)

var stateNames = [...]string{"connecting", "open", "blocked", "reconnecting", "closing", "closed"}

// String returns the state's lower-case name.
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// StateChange reports a state a [Connection] entered.
type StateChange struct {
	// State is the new state.
	State State
	// Epoch is the connection's epoch at the time (see [Connection.Epoch]).
	Epoch uint64
	// Err is why the connection left StateOpen, for StateReconnecting and
	// StateClosed (and the last failed attempt while connecting);
	// nil otherwise.
	Err error
}

// snapshot is the value a watch holds.
type snapshot struct {
	StateChange
	sess *session // the live session while StateOpen or StateBlocked; nil otherwise
}

// watch is a latest-value broadcast: writers replace the value and wake
// every waiter; readers never block writers and writers never block on
// readers.
type watch struct {
	mu      sync.Mutex
	cur     snapshot
	changed chan struct{} // closed and replaced on every set
}

func newWatch() *watch {
	return &watch{changed: make(chan struct{})}
}

// load returns the current value and a channel closed at the next change.
func (w *watch) load() (snapshot, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cur, w.changed
}

// set replaces the value unless the watch has reached Closed, or has reached
// Closing and v is not Closed: once closing, only Closed may follow. It
// reports whether the value was stored.
func (w *watch) set(v snapshot) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.cur.State == StateClosed:
		return false
	case w.cur.State == StateClosing && v.State != StateClosed:
		return false
	}
	w.cur = v
	close(w.changed)
	w.changed = make(chan struct{})
	return true
}

// wait blocks until ok(value) or ctx ends.
func (w *watch) wait(ctx context.Context, ok func(snapshot) bool) (snapshot, error) {
	for {
		v, ch := w.load()
		if ok(v) {
			return v, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return v, ctxErr(ctx)
		}
	}
}

// waitState waits until the state is one of states.
func (w *watch) waitState(ctx context.Context, states []State) (State, error) {
	v, err := w.wait(ctx, func(v snapshot) bool { return slices.Contains(states, v.State) })
	return v.State, err
}
