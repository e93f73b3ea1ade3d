package integration_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/internal/redisproc"
)

// mismatchWait bounds the connects of the TLS mismatch rows that retry:
// long enough for several attempts, short enough for the table.
const mismatchWait = 2 * time.Second

// tlsRedis starts a private redis-server that speaks plaintext on its port
// and TLS, with a certificate of a CA made for the test, on tlsPort.
func tlsRedis(t *testing.T) (srv *redisproc.Server, tlsPort int) {
	t.Helper()
	ca := newTestCA(t)
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	key, err := x509.MarshalPKCS8PrivateKey(ca.server.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.pemCA, 0o600); err != nil {
		t.Fatal(err)
	}
	tlsPort = redisproc.FreePort(t)
	srv = redisproc.Start(t, redisproc.Options{Args: []string{
		"--tls-port", strconv.Itoa(tlsPort),
		"--tls-cert-file", write("server.pem", "CERTIFICATE", ca.server.Certificate[0]),
		"--tls-key-file", write("server.key", "PRIVATE KEY", key),
		"--tls-ca-cert-file", caFile,
		"--tls-auth-clients", "no",
	}})
	return srv, tlsPort
}

// dialWithin dials raw with a ctx of d and returns the error, failing t
// when the call outlived its ctx by more than half a second.
func dialWithin(t *testing.T, ctx context.Context, d time.Duration, raw string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	c, err := conn.Dial(ctx, raw)
	if late := time.Since(start) - d; late > 500*time.Millisecond {
		t.Errorf("Dial returned %v after its ctx ended", late.Round(time.Millisecond))
	}
	if err == nil {
		_ = c.Close(ctx)
	}
	return err
}

// tlsMismatchRows are the rows of the bad-input table that speak TLS to a
// plaintext port or plaintext to a TLS port, besides "TLS to a plaintext
// port" on AMQP (urlRows), which RabbitMQ answers at once.
func tlsMismatchRows() []badRow {
	return []badRow{
		// A TLS server closes a connection whose first bytes are not a
		// TLS handshake, without a word: the client sees the broker close
		// the connection during the AMQP handshake, as a broker that is
		// starting or stopping does, and retries until its ctx ends.
		{name: "amqp:// to a TLS port", only: "amqp", want: []any{conn.ErrTimeout, says("handshake"), says("EOF")},
			run: func(t *testing.T, env *badEnv) error {
				addr := terminate(t, newTestCA(t), amqpHost(t))
				return dialWithin(t, env.ctx, mismatchWait, "amqp://guest:"+secret+"@"+addr+"/")
			}},
		// The same on Redis, with a private redis-server listening on a
		// TLS port (the server closes the connection: EOF); rediss:// to
		// that port works, as a control.
		{name: "redis:// to a TLS port", only: "redis", want: []any{conn.ErrTimeout, says("EOF")},
			run: func(t *testing.T, env *badEnv) error {
				_, tlsPort := tlsRedis(t)
				addr := "127.0.0.1:" + strconv.Itoa(tlsPort)
				if err := dialWithin(t, env.ctx, 20*time.Second, "rediss://"+addr+"/?ssl_cert_reqs=none"); err != nil {
					t.Fatalf("rediss:// to the TLS port: %v", err)
				}
				return dialWithin(t, env.ctx, mismatchWait, "redis://:"+secret+"@"+addr+"/")
			}},
		// Redis answers nothing to a TLS ClientHello (it waits for the end
		// of a command): each handshake lasts until socket_connect_timeout
		// (5 s by default), and the connect is retried until its ctx ends.
		// go-redis dials on a goroutine of its own that the caller's ctx
		// does not stop; the driver's dialer stops it when the client
		// closes (transports/redis's TestDialStopsAtClose proves it).
		{name: "rediss:// to a plaintext port", only: "redis", want: []any{conn.ErrTimeout},
			run: func(t *testing.T, env *badEnv) error {
				srv, _ := tlsRedis(t)
				return dialWithin(t, env.ctx, mismatchWait, "rediss://:"+secret+"@"+srv.Addr()+"/?ssl_cert_reqs=none")
			}},
	}
}

// amqpHost returns the host:port of the test RabbitMQ.
func amqpHost(t *testing.T) string {
	u := amqpURL(t, "amqp", "guest", "")
	host := u[strings.LastIndex(u, "@")+1:]
	host = host[:strings.IndexByte(host, '/')]
	if !strings.Contains(host, ":") {
		host += ":5672"
	}
	return host
}

// says, in a row's want, asks that the error's text contains it.
type says string
