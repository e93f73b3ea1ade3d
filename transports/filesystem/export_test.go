package filesystem

// Listings returns how many times the Connector's claims listed a queue
// directory.
func (c *Connector) Listings() int64 { return c.st.listings.Load() }
