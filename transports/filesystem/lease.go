package filesystem

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kelpmq/kelp/transports/virtual"
)

// leasePath is the lease file of an owner.
func (s *store) leasePath(owner string) string { return s.path(dirLeases, owner) }

// renewLease creates or touches this process's lease file.
func (s *store) renewLease() error {
	p := s.leasePath(s.owner)
	now := time.Now()
	if err := os.Chtimes(p, now, now); err == nil {
		return nil
	}
	host, _ := os.Hostname()
	return os.WriteFile(p, fmt.Appendf(nil, "pid %d on %s\n", os.Getpid(), host), 0o644)
}

// dropLease removes this process's lease file.
func (s *store) dropLease() { _ = os.Remove(s.leasePath(s.owner)) }

// restoreStale returns to their queues, marked redelivered, the claims of
// every owner whose lease file is missing or older than LeaseTimeout. It
// first takes a claim over by renaming it to its own owner name (so that
// two processes never restore the same claim), then requeues it.
func (s *store) restoreStale(ctx context.Context) (int, error) {
	qdirs, err := os.ReadDir(s.path(dirQueues))
	if err != nil {
		return 0, ioError("restore", err)
	}
	stale := map[string]bool{}
	isStale := func(owner string) bool {
		v, ok := stale[owner]
		if !ok {
			st, err := os.Stat(s.leasePath(owner))
			v = notExist(err) || err == nil && time.Since(st.ModTime()) > s.cfg.LeaseTimeout
			stale[owner] = v
		}
		return v
	}
	n := 0
	for _, qd := range qdirs {
		cdir := s.path(dirQueues, qd.Name(), dirClaimed)
		claims, err := os.ReadDir(cdir)
		if err != nil {
			continue // deleted meanwhile, or not a queue
		}
		for _, c := range claims {
			if err := ctx.Err(); err != nil {
				return n, err
			}
			owner := ownerOf(c.Name())
			if owner == s.owner || !isStale(owner) {
				continue
			}
			mine := filepath.Join(cdir, claimName(c.Name()[:len(c.Name())-len(owner)-1]+msgSuffix, s.owner))
			if err := os.Rename(filepath.Join(cdir, c.Name()), mine); err != nil {
				continue // another process restored it first
			}
			var env virtual.Envelope
			if err := s.readClaim(mine, &env); err != nil {
				continue
			}
			queue, err := s.queueName(qd.Name())
			if err != nil {
				s.log.Warn("filesystem: a claim in a queue without a name file", "dir", qd.Name(), "err", err)
				continue
			}
			env.Redelivered = true
			if err := s.requeue(queue, mine, &env); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// maintainer renews the lease and restores stale claims, from one
// goroutine, until stopped.
type maintainer struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func startMaintainer(s *store) *maintainer {
	ctx, cancel := context.WithCancel(context.Background())
	m := &maintainer{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		tick := time.NewTicker(s.cfg.LeaseTimeout / 4)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := s.renewLease(); err != nil {
				s.log.Warn("filesystem: renewing the lease", "err", err)
			}
			if i%2 == 1 {
				if _, err := s.restoreStale(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("filesystem: restoring stale claims", "err", err)
				}
			}
		}
	}()
	return m
}

func (m *maintainer) stop() {
	m.cancel()
	<-m.done
}
