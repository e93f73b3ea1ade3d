package filesystem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports/virtual"
)

// store is the [virtual.Backend] over a directory tree. Every operation
// is a rename, a create or a remove, atomic on a POSIX filesystem, so
// processes sharing the tree need no lock. In the process, fetchers of a
// queue take turns under the queue's mutex and share a cached listing.
type store struct {
	cfg   Config
	owner string // this Connector's lease name
	log   *slog.Logger
	clock stamps

	mu     sync.Mutex
	queues map[string]*qstate
	bind   sync.Map // exchange -> *bindCache

	watcher  atomic.Pointer[watcher] // set while the Connector is live and inotify works
	listings atomic.Int64            // queue listings by claims, for the tests of waiting
}

var (
	_ virtual.Backend         = (*store)(nil)
	_ virtual.Catalog         = (*store)(nil)
	_ virtual.ExchangeCatalog = (*store)(nil)
)

// qstate is what this process knows of one queue.
type qstate struct {
	mu       sync.Mutex // serialises this process's claims on the queue
	names    []string   // ready names listed and not yet tried, in order
	listedAt time.Time
	stale    atomic.Bool // set by a local Put or Requeue, or a watch event: list again
	watched  atomic.Bool // the watcher wakes this queue's waiters

	wmu  sync.Mutex
	wake chan struct{} // closed (and replaced) by a local Put or Requeue

	opts atomic.Pointer[virtual.QueueOptions] // nil until read
}

func newStore(cfg Config, owner string) *store {
	return &store{cfg: cfg, owner: owner, log: cfg.Logger, queues: make(map[string]*qstate)}
}

func (s *store) path(parts ...string) string {
	return filepath.Join(append([]string{s.cfg.Dir}, parts...)...)
}

func (s *store) queueDir(q string) string { return s.path(dirQueues, escape(q)) }

// q returns the in-process state of a queue.
func (s *store) q(name string) *qstate {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[name]
	if q == nil {
		q = &qstate{wake: make(chan struct{})}
		s.queues[name] = q
	}
	return q
}

// waitChan returns the channel the next local Put or Requeue closes.
func (q *qstate) waitChan() <-chan struct{} {
	q.wmu.Lock()
	defer q.wmu.Unlock()
	return q.wake
}

// notify marks the listing stale and wakes the local waiters.
func (q *qstate) notify() {
	q.stale.Store(true)
	q.wmu.Lock()
	close(q.wake)
	q.wake = make(chan struct{})
	q.wmu.Unlock()
}

// mkdirs creates the directories of the layout.
func (s *store) mkdirs() error {
	for _, d := range []string{dirQueues, dirTmp, dirLeases, dirBindings, dirExchanges, dirTrash, dirCorrupt} {
		if err := os.MkdirAll(s.path(d), 0o755); err != nil {
			return err
		}
	}
	return nil
}

func noQueue(q string) error { return fmt.Errorf("filesystem: queue %q: %w", q, virtual.ErrNoQueue) }

// ioError wraps a store failure.
func ioError(op string, err error) error { return fmt.Errorf("filesystem: %s: %w", op, err) }

// CreateQueue implements [virtual.Backend]: it makes the queue's
// directories and records opts unless the queue has some already.
func (s *store) CreateQueue(_ context.Context, name string, opts virtual.QueueOptions) error {
	dir := s.queueDir(name)
	if err := os.MkdirAll(filepath.Join(dir, dirClaimed), 0o755); err != nil {
		return ioError("create queue", err)
	}
	data, _ := json.Marshal(queueFile{Name: name, MaxPriority: opts.MaxPriority})
	// Link refuses to overwrite: the first declaration's options stay.
	tmp, err := os.CreateTemp(s.path(dirTmp), "o-*")
	if err != nil {
		return ioError("create queue", err)
	}
	_, err = tmp.Write(data)
	err = errors.Join(err, tmp.Close())
	if err == nil {
		if lerr := os.Link(tmp.Name(), filepath.Join(dir, fileOptions)); lerr != nil && !errors.Is(lerr, os.ErrExist) {
			err = lerr
		}
	}
	_ = os.Remove(tmp.Name())
	if err != nil {
		return ioError("create queue", err)
	}
	s.q(name).opts.Store(nil) // read again: another process may have won
	return nil
}

// queueFile is the content of a queue's options file.
type queueFile struct {
	Name        string `json:"name"`
	MaxPriority uint8  `json:"max_priority,omitempty"`
}

// readQueueFile reads the options file of a queue directory. A corrupt
// file reads as the zero queueFile, with an error that does not match
// fs.ErrNotExist.
func readQueueFile(dir string) (queueFile, error) {
	var f queueFile
	data, err := os.ReadFile(filepath.Join(dir, fileOptions))
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return queueFile{}, fmt.Errorf("filesystem: corrupt %s in %s: %w", fileOptions, dir, err)
	}
	return f, nil
}

// queueName returns the name of the queue kept in directory dir (its
// escaped name).
func (s *store) queueName(dir string) (string, error) {
	f, err := readQueueFile(s.path(dirQueues, dir))
	if err != nil {
		return "", err
	}
	if escape(f.Name) != dir {
		return "", fmt.Errorf("filesystem: %s in %s names queue %q", fileOptions, dir, f.Name)
	}
	return f.Name, nil
}

// options returns a queue's recorded options.
func (s *store) options(name string) (virtual.QueueOptions, error) {
	q := s.q(name)
	if p := q.opts.Load(); p != nil {
		return *p, nil
	}
	var o virtual.QueueOptions
	f, err := readQueueFile(s.queueDir(name))
	switch {
	case notExist(err):
		if _, serr := os.Stat(s.queueDir(name)); notExist(serr) {
			return o, noQueue(name)
		}
	case err != nil:
		s.log.Warn("filesystem: unreadable queue options; using none", "queue", name, "err", err)
	default:
		o.MaxPriority = f.MaxPriority
	}
	q.opts.Store(&o)
	return o, nil
}

// DeleteQueue implements [virtual.Backend]: it renames the queue's
// directory into the trash (atomic: later claims and puts find no queue),
// counts the ready messages there and removes it.
func (s *store) DeleteQueue(_ context.Context, name string) (int, error) {
	gone := s.path(dirTrash, escape(name)+"."+randomHex(8))
	if err := os.Rename(s.queueDir(name), gone); err != nil {
		if notExist(err) {
			return 0, noQueue(name)
		}
		return 0, ioError("delete queue", err)
	}
	q := s.q(name)
	q.opts.Store(nil)
	q.notify()
	names, _ := listReady(gone)
	if err := os.RemoveAll(gone); err != nil {
		s.log.Warn("filesystem: removing a deleted queue", "dir", gone, "err", err)
	}
	return len(names), nil
}

// Put implements [virtual.Backend].
func (s *store) Put(_ context.Context, name string, env *virtual.Envelope) error {
	opts, err := s.options(name)
	if err != nil {
		return err
	}
	return s.writeReady(name, env, min(env.Priority, opts.MaxPriority), kindNew)
}

// writeReady stores env as a ready message of queue.
func (s *store) writeReady(name string, env *virtual.Envelope, prio uint8, kind byte) error {
	data, err := virtual.MarshalEnvelope(env)
	if err != nil {
		return err
	}
	file := readyName(prio, kind, s.clock.next(time.Now().UnixNano()), len(env.Body))
	dir := s.queueDir(name)
	sync := !s.cfg.NoSync && env.DeliveryMode == route.Persistent
	if err := writeFileAtomic(s.path(dirTmp), filepath.Join(dir, file), data, sync); err != nil {
		if notExist(err) {
			if _, serr := os.Stat(dir); notExist(serr) {
				return noQueue(name)
			}
		}
		return ioError("put", err)
	}
	s.q(name).notify()
	return nil
}

// listReady returns the ready message names of a queue directory, in
// delivery order.
func listReady(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	all, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	names := all[:0]
	for _, n := range all {
		if strings.HasSuffix(n, msgSuffix) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}

// Fetch implements [virtual.Backend]. A waiting Fetch claims, and when the
// queue is empty sleeps until a local Put or Requeue, a message file
// arriving from another process (seen by the inotify watcher, on Linux),
// or a poll interval passes: Config.PollInterval, as a safety net, while
// the queue is watched; else 1 ms doubling up to Config.PollInterval.
func (s *store) Fetch(ctx context.Context, name string, wait bool) (virtual.Claim, error) {
	q := s.q(name)
	pause := time.Millisecond
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		wake := q.waitChan()
		// Watched before the claim lists the queue, so that a file
		// arriving after the listing is an event.
		watched := wait && s.watch(q, name)
		c, err := s.claim(q, name)
		if !errors.Is(err, virtual.ErrEmpty) || !wait {
			return c, err
		}
		d := pause
		if watched {
			d = s.cfg.PollInterval
		}
		if timer == nil {
			timer = time.NewTimer(d)
		} else {
			timer.Reset(d)
		}
		select {
		case <-ctx.Done():
			return virtual.Claim{}, fmt.Errorf("filesystem: fetch: %w", ctx.Err())
		case <-wake:
			pause = time.Millisecond
		case <-timer.C:
			pause = min(2*pause, s.cfg.PollInterval)
		}
	}
}

// watch makes sure the watcher, if any, watches queue q (name), and
// reports whether it does. A queue watched anew is listed again: files
// may have arrived since the cached listing.
func (s *store) watch(q *qstate, name string) bool {
	if q.watched.Load() {
		return true
	}
	w := s.watcher.Load()
	if w == nil || !w.add(name, q) {
		return false
	}
	q.stale.Store(true)
	return true
}

// claim takes the first ready message of a queue by renaming it into the
// queue's claimed directory under this process's owner name.
func (s *store) claim(q *qstate, name string) (virtual.Claim, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	dir := s.queueDir(name)
	fresh := false
	for {
		if len(q.names) == 0 || q.stale.Load() || time.Since(q.listedAt) > s.cfg.PollInterval {
			if fresh && len(q.names) == 0 {
				return virtual.Claim{}, virtual.ErrEmpty
			}
			q.stale.Store(false)
			s.listings.Add(1)
			names, err := listReady(dir)
			if err != nil {
				if notExist(err) {
					return virtual.Claim{}, noQueue(name)
				}
				return virtual.Claim{}, ioError("list queue", err)
			}
			q.names, q.listedAt, fresh = names, time.Now(), true
			if len(names) == 0 {
				return virtual.Claim{}, virtual.ErrEmpty
			}
		}
		file := q.names[0]
		q.names = q.names[1:]
		receipt := filepath.Join(dir, dirClaimed, claimName(file, s.owner))
		if err := os.Rename(filepath.Join(dir, file), receipt); err != nil {
			if notExist(err) {
				continue // another process claimed it (or the queue is gone: the listing says)
			}
			return virtual.Claim{}, ioError("claim", err)
		}
		c := virtual.Claim{Queue: name, Receipt: receipt}
		if err := s.readClaim(receipt, &c.Envelope); err != nil {
			if errors.Is(err, virtual.ErrBadEnvelope) {
				continue
			}
			return virtual.Claim{}, err
		}
		return c, nil
	}
}

// readClaim reads a claimed file. A corrupt one is moved to the corrupt
// directory, logged, and reported with an error wrapping
// virtual.ErrBadEnvelope.
func (s *store) readClaim(path string, env *virtual.Envelope) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return ioError("read claim", err)
	}
	if err := virtual.UnmarshalEnvelope(data, env); err != nil {
		aside := s.path(dirCorrupt, filepath.Base(path))
		s.log.Error("filesystem: corrupt message file moved aside", "file", path, "to", aside, "err", err)
		if rerr := os.Rename(path, aside); rerr != nil {
			_ = os.Remove(path)
		}
		return err
	}
	return nil
}

// Ack implements [virtual.Backend]: it removes the claimed file.
func (s *store) Ack(_ context.Context, c *virtual.Claim) error {
	if err := os.Remove(c.Receipt.(string)); err != nil && !notExist(err) {
		return ioError("ack", err)
	}
	return nil
}

// Requeue implements [virtual.Backend]: it writes the message as it now
// is under a ready name that sorts first in its priority, then removes the
// claim (a crash in between leaves a duplicate, never a loss).
func (s *store) Requeue(_ context.Context, c *virtual.Claim) error {
	return s.requeue(c.Queue, c.Receipt.(string), &c.Envelope)
}

func (s *store) requeue(queue, receipt string, env *virtual.Envelope) error {
	opts, err := s.options(queue)
	if err == nil {
		err = s.writeReady(queue, env, min(env.Priority, opts.MaxPriority), kindRequeued)
	}
	if err != nil && !errors.Is(err, virtual.ErrNoQueue) {
		return err
	}
	if rerr := os.Remove(receipt); rerr != nil && !notExist(rerr) && err == nil {
		err = ioError("requeue", rerr)
	}
	return err
}

// Purge implements [virtual.Backend]: it removes every ready file; the
// ones another process claims first are not counted.
func (s *store) Purge(_ context.Context, name string) (int, error) {
	dir := s.queueDir(name)
	names, err := listReady(dir)
	if err != nil {
		if notExist(err) {
			return 0, noQueue(name)
		}
		return 0, ioError("purge", err)
	}
	n := 0
	for _, f := range names {
		if err := os.Remove(filepath.Join(dir, f)); err == nil {
			n++
		} else if !notExist(err) {
			return n, ioError("purge", err)
		}
	}
	s.q(name).stale.Store(true)
	return n, nil
}

// Len implements [virtual.Backend]: it counts the ready files, and sums
// the body sizes their names record.
func (s *store) Len(_ context.Context, name string) (virtual.QueueLen, error) {
	names, err := listReady(s.queueDir(name))
	if err != nil {
		if notExist(err) {
			return virtual.QueueLen{}, noQueue(name)
		}
		return virtual.QueueLen{}, ioError("len", err)
	}
	l := virtual.QueueLen{Messages: len(names)}
	for _, n := range names {
		b, _ := bodyLenOf(n)
		l.Bytes += b
	}
	return l, nil
}
