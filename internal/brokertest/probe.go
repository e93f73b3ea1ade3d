package brokertest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/transports"
)

// probes remembers, for the whole test binary, whether each URL answered.
var probes sync.Map // url → *probe

type probe struct {
	once sync.Once
	err  error
}

// reachable returns when a broker answers at url, and otherwise skips t
// with one line (fails it under KELP_CI=1) naming env, the variable that
// moves it. Each URL is dialled once per test binary, within 3 seconds.
func reachable(t testing.TB, url, env string) {
	t.Helper()
	v, _ := probes.LoadOrStore(url, new(probe))
	p := v.(*probe)
	p.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		var c *conn.Connection
		if c, p.err = conn.Dial(ctx, url); p.err == nil {
			p.err = c.Close(ctx)
		}
	})
	if p.err != nil {
		Unavailable(t, fmt.Sprintf("%s: broker not reachable (%v); start it or set %s",
			transports.RedactURL(url), p.err, env))
	}
}
