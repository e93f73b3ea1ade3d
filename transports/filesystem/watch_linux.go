//go:build linux

package filesystem

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// watcher wakes this process's waiting consumers when a message file
// arrives in their queue from anywhere (another process's Put, Requeue or
// restore), through one inotify instance per Connector watching the
// directories of the queues that have had a waiting consumer. Puts are a
// rename into the queue directory, so IN_MOVED_TO is the signal.
//
// Its goroutine, run, is owned by the Connector: started with the first
// live Conn and stopped by stop (which closes the descriptor, ending the
// blocked read) when the last one ends.
type watcher struct {
	st   *store
	f    *os.File // the inotify descriptor: non-blocking, so in Go's poller and Close ends a Read
	done chan struct{}

	mu  sync.Mutex
	wds map[int32]*watched
}

// watched is one watched queue directory.
type watched struct {
	name string
	q    *qstate
}

// startWatcher starts the watcher of st, or returns nil when inotify is
// not available (waiters then poll).
func startWatcher(st *store) *watcher {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		st.log.Info("filesystem: no inotify; waiting consumers poll", "err", err)
		return nil
	}
	w := &watcher{st: st, f: os.NewFile(uintptr(fd), "inotify"), done: make(chan struct{}), wds: make(map[int32]*watched)}
	go w.run()
	return w
}

// add watches the directory of queue q (name) and reports whether it is
// watched. A directory that does not exist is not.
func (w *watcher) add(name string, q *qstate) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.wds == nil {
		return false // stopped
	}
	sc, err := w.f.SyscallConn()
	if err != nil {
		return false
	}
	var wd int
	cerr := sc.Control(func(fd uintptr) {
		wd, err = unix.InotifyAddWatch(int(fd), w.st.queueDir(name), unix.IN_MOVED_TO|unix.IN_MOVE_SELF|unix.IN_DELETE_SELF|unix.IN_ONLYDIR)
	})
	if cerr != nil || err != nil {
		return false
	}
	w.wds[int32(wd)] = &watched{name: name, q: q}
	q.watched.Store(true)
	return true
}

// stop ends the goroutine and forgets every watch.
func (w *watcher) stop() {
	w.mu.Lock()
	for _, x := range w.wds {
		x.q.watched.Store(false)
	}
	w.wds = nil
	w.mu.Unlock()
	_ = w.f.Close()
	<-w.done
}

// run reads events until the descriptor is closed.
func (w *watcher) run() {
	defer close(w.done)
	buf := make([]byte, 64<<10)
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			return // closed by stop (any other error leaves the waiters to their safety poll)
		}
		w.handle(buf[:n])
	}
}

// handle wakes the queues that events name.
func (w *watcher) handle(b []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(b) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
		size := unix.SizeofInotifyEvent + int(ev.Len)
		if size > len(b) {
			return
		}
		name := string(bytes.TrimRight(b[unix.SizeofInotifyEvent:size], "\x00"))
		b = b[size:]
		switch {
		case ev.Mask&unix.IN_Q_OVERFLOW != 0: // events were lost: wake everyone
			for _, x := range w.wds {
				x.q.notify()
			}
		case ev.Mask&(unix.IN_MOVE_SELF|unix.IN_DELETE_SELF|unix.IN_IGNORED) != 0:
			// The queue was deleted (its directory moved to the trash):
			// the watch would follow it there. Its waiters wake and find
			// no queue; a new one is watched again by its next waiter.
			if x := w.wds[ev.Wd]; x != nil {
				delete(w.wds, ev.Wd)
				x.q.watched.Store(false)
				x.q.notify()
				if ev.Mask&unix.IN_IGNORED == 0 {
					if sc, err := w.f.SyscallConn(); err == nil {
						_ = sc.Control(func(fd uintptr) { _, _ = unix.InotifyRmWatch(int(fd), uint32(ev.Wd)) })
					}
				}
			}
		case ev.Mask&unix.IN_MOVED_TO != 0 && strings.HasSuffix(name, msgSuffix):
			if x := w.wds[ev.Wd]; x != nil {
				x.q.notify()
			}
		}
	}
}
