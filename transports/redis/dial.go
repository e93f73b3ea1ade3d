package redis

import (
	"context"
	"crypto/tls"
	"net"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// dialer dials the connections of one client and stops every dial in
// progress when the client closes. go-redis dials on goroutines of its
// own, with a context derived from context.Background that neither the
// caller's ctx nor Client.Close cancels, so without this a dial into a
// server that answers nothing (a TLS handshake with a plaintext port, a
// black hole) outlives the closed client by up to the dial timeout.
type dialer struct {
	closed  context.Context // cancelled when the client closes
	timeout time.Duration
	tls     *tls.Config
}

// dial is the client's goredis Dialer: a TCP (or unix) dial and, for
// TLS, the handshake, both ending at ctx, at the dial timeout or when the
// client closes, whichever comes first.
func (d *dialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(d.closed, cancel)()
	if d.timeout > 0 {
		var c context.CancelFunc
		ctx, c = context.WithTimeout(ctx, d.timeout)
		defer c()
	}
	nd := net.Dialer{KeepAlive: 5 * time.Minute} // go-redis's own dialer's keep-alive
	conn, err := nd.DialContext(ctx, network, addr)
	if err != nil || d.tls == nil {
		return conn, err
	}
	cfg := d.tls
	if cfg.ServerName == "" { // as tls.Dial does: verify against the host dialled
		host, _, splitErr := net.SplitHostPort(addr)
		if splitErr != nil {
			host = addr
		}
		cfg = cfg.Clone()
		cfg.ServerName = host
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return tc, nil
}

// closingClient closes the dialer's context after the client.
type closingClient struct {
	goredis.UniversalClient
	stop context.CancelFunc
}

// Close closes the client and stops the dials still in progress.
func (c closingClient) Close() error {
	err := c.UniversalClient.Close()
	c.stop()
	return err
}
