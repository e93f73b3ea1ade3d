package brokertest

import (
	"bytes"
	"os/exec"
	"testing"
)

// Python is the interpreter, with Debian's Kombu, that interop tests run
// their Python peers with.
const Python = "/usr/bin/python3"

// KombuBrokers are the brokers a Python Kombu peer can share with kelp in
// the interop tests, in the order of [Brokers].
var KombuBrokers = []string{"amqp", "redis"}

// Kombu returns t's RabbitMQ Target for a test with a Python Kombu peer,
// as [KombuOn] does.
func Kombu(t testing.TB, cfg Config) *Target {
	t.Helper()
	return KombuOn(t, "amqp", cfg)
}

// KombuOn returns t's Target on the broker called name ("amqp" or
// "redis") for a test with a Python Kombu peer, skipping t with one line
// (failing it under KELP_CI=1) when the broker is unreachable or [Python]
// cannot import kombu and msgpack (and, for Redis, redis-py). A Redis Target's URL
// carries its key prefix as the query option global_keyprefix, which the
// Python peer must pass to Kombu as the transport option of that name
// (Kombu's Connection refuses it in a URL).
func KombuOn(t testing.TB, name string, cfg Config) *Target {
	t.Helper()
	b := Open(t, name, cfg)
	imports := "import kombu, msgpack" // the tests send msgpack too
	if name == "redis" {
		imports += ", redis"
	}
	if out, err := exec.Command(Python, "-c", imports).CombinedOutput(); err != nil {
		Unavailable(t, "brokertest: Kombu interop needs "+Python+" with "+imports[len("import "):]+": "+string(bytes.TrimSpace(out)))
	}
	return b
}

// RunKombu runs fn as one subtest per broker of [KombuBrokers], each on
// the Target that [KombuOn] opens for it.
func RunKombu(t *testing.T, cfg Config, fn func(t *testing.T, tg *Target)) {
	t.Helper()
	for _, name := range KombuBrokers {
		t.Run(name, func(t *testing.T) { fn(t, KombuOn(t, name, cfg)) })
	}
}
