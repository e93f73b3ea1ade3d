package brokertest

import (
	"bytes"
	"os/exec"
	"testing"
)

// Python is the interpreter, with Debian's Kombu, that interop tests run
// their Python peers with.
const Python = "/usr/bin/python3"

// Kombu returns t's RabbitMQ Target for a test with a Python Kombu peer,
// skipping t with one line (failing it under KELP_CI=1) when RabbitMQ is
// unreachable or [Python] cannot import kombu.
func Kombu(t testing.TB, cfg Config) *Target {
	t.Helper()
	b := Open(t, "amqp", cfg)
	if out, err := exec.Command(Python, "-c", "import kombu").CombinedOutput(); err != nil {
		Unavailable(t, "brokertest: Kombu interop needs "+Python+" with kombu: "+string(bytes.TrimSpace(out)))
	}
	return b
}
