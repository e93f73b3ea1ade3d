package sql

// Listening reports whether the Connector's PostgreSQL listener is
// subscribed.
func (c *Connector) Listening() bool { return c.st.listening.Load() }

// ClaimAttempts returns how many claims the Connector has tried.
func (c *Connector) ClaimAttempts() int64 { return c.st.attempts.Load() }
