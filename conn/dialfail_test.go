package conn_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/memory"
)

// The first connect gives up at once on errors that retrying cannot heal
// and retries the others until its ctx ends.
func TestOpenFailsFastWhenRetryCannotHeal(t *testing.T) {
	notFound := &net.DNSError{Err: "no such host", Name: "nosuch.invalid", IsNotFound: true}
	for _, tc := range []struct {
		name  string
		err   error
		fast  bool
		match func(error) bool
	}{
		{"refused login", transports.NewError(403, "ACCESS_REFUSED - bad login"), true,
			func(err error) bool { return errors.Is(err, conn.ErrAccessRefused) }},
		{"wrong vhost", transports.NewError(530, "NOT_ALLOWED - vhost x not found"), true,
			func(err error) bool { return errors.Is(err, transports.ErrNotAllowed) }},
		{"unknown host", notFound, true,
			func(err error) bool { var d *net.DNSError; return errors.As(err, &d) }},
		{"TLS to a plaintext port", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, true,
			func(err error) bool { var r tls.RecordHeaderError; return errors.As(err, &r) }},
		{"unknown certificate authority", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, true,
			func(err error) bool { var c *tls.CertificateVerificationError; return errors.As(err, &c) }},
		{"DNS server unreachable", &net.DNSError{Err: "i/o timeout", Name: "h", IsTimeout: true, IsTemporary: true}, false,
			func(err error) bool { return errors.Is(err, conn.ErrTimeout) }},
		{"connection refused", transports.ErrConnLost, false,
			func(err error) bool { return errors.Is(err, conn.ErrTimeout) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := memory.New()
				defer b.Close(context.Background())
				b.RefuseConnections(tc.err)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				start := time.Now()
				_, err := conn.Open(ctx, b.Connector(), conn.Config{})
				took := time.Since(start)
				if err == nil || !tc.match(err) {
					t.Fatalf("Open: %v", err)
				}
				if fast := took < time.Minute; fast != tc.fast {
					t.Fatalf("Open returned after %v (fail fast %v, want %v): %v", took, fast, tc.fast, err)
				}
			})
		})
	}
}

// Reconnects retry even the errors that fail a first connect at once: the
// host may come back.
func TestReconnectRetriesWhatFirstConnectRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := memory.New()
		defer b.Close(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, err := conn.Open(ctx, b.Connector(), conn.Config{Reconnect: conn.Backoff{Initial: 100 * time.Millisecond, Max: time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(context.Background())
		b.RefuseConnections(&net.DNSError{Err: "no such host", Name: "gone", IsNotFound: true})
		b.DropConnections("")
		time.Sleep(10 * time.Second) // synctest: ten seconds of refused reconnects
		if st := c.State(); st != conn.StateReconnecting {
			t.Fatalf("state %v while the host does not resolve, want reconnecting", st)
		}
		b.RefuseConnections(nil)
		waitEpoch(t, c, 2)

	})
}
