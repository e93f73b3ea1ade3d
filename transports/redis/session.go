package redis

import "context"

// This file holds what the Connector does to the store around Conns: a
// session (the time one client is live, from the first Conn to the last)
// starts and ends with its stale claims made orphans, and every Connect
// restores the orphans.

// orphanStaleClaims turns every live claim into an orphan. It runs when a
// session starts and when it ends, while no Conn is live: a claim still
// recorded then belongs to a dead Conn that could not settle it,
// typically a consumer's pump that claimed a message as its Conn died and
// tried to requeue it after the client was closed. Left among the live
// claims it would be refreshed forever and never restored while this
// process lives. As an orphan it is restored (a no-op for a claim that was
// settled after all).
func (s *store) orphanStaleClaims() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tag := range s.claims {
		s.orphans = append(s.orphans, tag)
		delete(s.claims, tag)
	}
}

// restoreOrphans puts the claims whose reply was lost back in their
// queues now; a failure leaves them to the maintainer.
func (c *Connector) restoreOrphans(ctx context.Context) {
	if err := c.st.restoreOrphans(ctx); err != nil {
		c.logger.Warn("redis: restoring claims whose reply was lost failed; the maintainer will retry", "err", err)
	}
}
