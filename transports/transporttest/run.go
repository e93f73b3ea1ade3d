package transporttest

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/kelpmq/kelp/transports"
)

// Run runs the conformance suite against the transport whose connectors
// newConnector makes, as subtests of t grouped by area (Conn, Exchange,
// Queue, Message, Routing, Consume, Settle, Confirms, Returns, QueueFeatures,
// Capabilities, Faults, Concurrency). Tests of capabilities f does not claim
// are skipped.
//
// newConnector is called once per test, from the test goroutine, and may
// give every test its own broker (the memory transport does) or the same
// real broker; Connect may be called on the result several times. Run
// closes every Conn it opens and deletes every queue and exchange it
// declares, so a real broker is left as it was found.
//
// The tests run one after another, never in parallel. Unless
// f.SkipLeakCheck is set, each group fails when goroutines started during it
// are still running once everything it opened is closed.
func Run(t *testing.T, f Features, newConnector func(t *testing.T) transports.Connector) {
	t.Helper()
	f = f.withDefaults()
	if err := f.validate(); err != nil {
		t.Fatal(err)
	}
	if newConnector == nil {
		t.Fatal("transporttest: Run needs a newConnector function")
	}
	for _, g := range groups() {
		t.Run(g.name, func(t *testing.T) {
			if !f.SkipLeakCheck {
				ignore := goleak.IgnoreCurrent()
				// Cleanups of the group run after those of its subtests, so
				// every Conn the group opened is closed by then.
				t.Cleanup(func() {
					if err := goleak.Find(ignore); err != nil {
						t.Errorf("goroutines still running after every Conn of the group was closed:\n%v", err)
					}
				})
			}
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(newHarness(t, &f, newConnector))
				})
			}
		})
	}
}

// A group is one area of the suite: a top-level subtest of Run.
type group struct {
	name  string
	tests []test
}

// A test is one subtest of a group.
type test struct {
	name string
	run  func(h *harness)
}

// groups lists the suite in the order Run runs it.
func groups() []group {
	return []group{
		{"Conn", connTests},
		{"Exchange", exchangeTests},
		{"Queue", queueTests},
		{"Message", messageTests},
		{"Routing", routingTests},
		{"Consume", consumeTests},
		{"Settle", settleTests},
		{"Confirms", confirmTests},
		{"Returns", returnTests},
		{"QueueFeatures", queueFeatureTests},
		{"Capabilities", capabilityTests},
		{"Faults", faultTests},
		{"Concurrency", concurrencyTests},
	}
}
