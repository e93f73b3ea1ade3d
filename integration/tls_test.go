package integration_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/integration"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports/redis"
)

// testCA is a certificate authority made for one test, and a server
// certificate it signed for 127.0.0.1 and localhost.
type testCA struct {
	pool   *x509.CertPool
	pemCA  []byte
	server tls.Certificate
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, srvKey := key(), key()
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kelp test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	if ca, err = x509.ParseCertificate(caDER); err != nil {
		t.Fatal(err)
	}
	srv := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	c := &testCA{pool: x509.NewCertPool(), server: tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}}
	c.pool.AddCert(ca)
	c.pemCA = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return c
}

// terminate starts a TLS-terminating proxy with ca's server certificate
// in front of the plaintext address target, and returns its address. It
// stops when the test ends.
func terminate(t *testing.T, ca *testCA, target string) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{ca.server}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	track := func(c net.Conn) bool {
		mu.Lock()
		defer mu.Unlock()
		if open == nil {
			return false // stopped
		}
		open = append(open, c)
		return true
	}
	open = []net.Conn{}
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			if !track(c) || !track(up) {
				_, _ = c.Close(), up.Close()
				continue
			}
			pipe := func(dst, src net.Conn) {
				_, _ = io.Copy(dst, src)
				_, _ = dst.Close(), src.Close()
			}
			wg.Go(func() { pipe(up, c) })
			wg.Go(func() { pipe(c, up) })
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range open {
			_ = c.Close()
		}
		open = nil
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// overTLS publishes a message on c and consumes it back: proof that c
// reached the broker behind the TLS proxy.
func overTLS(t *testing.T, ctx context.Context, c *conn.Connection, q route.Queue) {
	t.Helper()
	if err := c.Declare(ctx, q); err != nil {
		t.Fatal(err)
	}
	if err := c.Producer(conn.WithRoutingKey(q.Name)).Publish(ctx, "over TLS"); err != nil {
		t.Fatal(err)
	}
	d, err := getWithin(ctx, c, q.Name)
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if err := d.Decode(&s); err != nil || s != "over TLS" {
		t.Fatalf("got %q (%v)", s, err)
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
}

// unverified reports whether err is a certificate that did not verify.
func unverified(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	return errors.As(err, &cv) && errors.As(err, &ua)
}

// TLS verification is on by default: amqps:// to a broker whose
// certificate was signed by an unknown CA fails at once with a clear
// error; it succeeds with the CA given in the URL (ssl_ca_certs) and, with
// verification explicitly off (ssl_cert_reqs=CERT_NONE), without it. The
// broker is the real RabbitMQ behind a TLS-terminating proxy with a CA
// made for the test.
func TestTLSVerifiesAMQP(t *testing.T) {
	integration.NoLeaks(t)
	plain, err := url.Parse(integration.AMQPURL(t))
	if err != nil {
		t.Fatal(err)
	}
	ca := newTestCA(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.pemCA, 0o600); err != nil {
		t.Fatal(err)
	}
	port := plain.Port()
	if port == "" {
		port = "5672"
	}
	addr := terminate(t, ca, net.JoinHostPort(plain.Hostname(), port))
	ctx := integration.Ctx(t, time.Minute)
	tlsURL := func(query string) string {
		u := *plain
		u.Scheme, u.Host, u.RawQuery = "amqps", addr, query
		return u.String()
	}

	short, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	_, err = conn.Dial(short, tlsURL(""))
	if !unverified(err) || errors.Is(err, conn.ErrTimeout) {
		t.Fatalf("amqps:// to a certificate of an unknown CA: %v, want a verification error at once", err)
	}
	t.Logf("unknown CA: %v", err)

	for _, query := range []string{"ssl_ca_certs=" + url.QueryEscape(caFile), "ssl_cert_reqs=CERT_NONE"} {
		c, err := conn.Dial(ctx, tlsURL(query))
		if err != nil {
			t.Fatalf("amqps:// with %s: %v", query, err)
		}
		q := route.NewQueue(integration.Unique("tls"))
		q.Exclusive = true // gone with c
		overTLS(t, ctx, c, q)
		if err := c.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// The same for rediss://, with the CA given in redis.Config.TLS (the URL
// has no CA option) and ssl_cert_reqs=none to skip verification.
func TestTLSVerifiesRedis(t *testing.T) {
	integration.NoLeaks(t)
	base := integration.RedisConfig(t)
	if base.Network == "unix" {
		t.Skip("Redis listens on a unix socket")
	}
	ca := newTestCA(t)
	addr := terminate(t, ca, base.Addr)
	ctx := integration.Ctx(t, time.Minute)
	prefix := "kelp.it.tls:" + rand.Text()[:8] + ":"
	open := func(cfg *tls.Config) (*conn.Connection, error) {
		rc := base
		rc.Addr, rc.TLS, rc.GlobalKeyPrefix = addr, cfg, prefix
		ctr, err := redis.NewConnector(rc)
		if err != nil {
			t.Fatal(err)
		}
		short, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		return conn.Open(short, ctr, conn.Config{})
	}
	_, err := open(&tls.Config{ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	if !unverified(err) || errors.Is(err, conn.ErrTimeout) {
		t.Fatalf("rediss:// to a certificate of an unknown CA: %v, want a verification error at once", err)
	}
	t.Logf("unknown CA: %v", err)
	for _, cfg := range []*tls.Config{
		{ServerName: "127.0.0.1", RootCAs: ca.pool, MinVersion: tls.VersionTLS12},
		{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12},
	} {
		c, err := open(cfg)
		if err != nil {
			t.Fatalf("rediss:// (insecure %v): %v", cfg.InsecureSkipVerify, err)
		}
		overTLS(t, ctx, c, route.NewQueue(integration.Unique("tls")))
		if err := c.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// rediss:// with ssl_cert_reqs=none sets InsecureSkipVerify; any other
	// rediss:// URL verifies.
	for q, insecure := range map[string]bool{"": false, "?ssl_cert_reqs=none": true, "?ssl_cert_reqs=required": false} {
		cfg, err := redis.ParseURL("rediss://" + addr + "/9" + q)
		if err != nil || cfg.TLS == nil || cfg.TLS.InsecureSkipVerify != insecure {
			t.Errorf("ParseURL(rediss://...%s): TLS %+v, %v; want InsecureSkipVerify %v", q, cfg.TLS, err, insecure)
		}
	}
}
