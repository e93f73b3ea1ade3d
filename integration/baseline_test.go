package integration_test

import (
	"testing"
	"time"

	"github.com/kelpmq/kelp/integration"
)

// Without faults the stream loses nothing and needs no retries: the
// harness itself is sound.
func TestStreamWithoutFaults(t *testing.T) {
	integration.Run(t, func(t *testing.T, b integration.Broker) {
		ctx := integration.Ctx(t, 60*time.Second)
		cfg, _ := integration.Config(t, "baseline")
		c := integration.Open(t, b.Connector(), cfg)
		f := integration.Stream{Messages: 3000}.Start(ctx, t, c, b.Queue(t, "baseline"))
		r := f.Finish(ctx, integration.Unsettled(b))
		r.Check(t)
		if r.Duplicates != 0 || r.Retries != 0 || r.Stale != 0 || c.Epoch() != 1 {
			t.Errorf("no fault, yet %d duplicates, %d retries, %d stale settles, epoch %d", r.Duplicates, r.Retries, r.Stale, c.Epoch())
		}
	})
}
