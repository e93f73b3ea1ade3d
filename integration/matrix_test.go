package integration_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/integration"
	"github.com/kelpmq/kelp/internal/redisproc"
	"github.com/kelpmq/kelp/route"
)

// The limits every scenario of the matrix checks besides the stream's own
// invariants (Result.Check).
const (
	// probeTimeout is the ctx of the probe publish made during each fault.
	probeTimeout = 300 * time.Millisecond
	// probeSlack is how long after its deadline a probe may return.
	probeSlack = 500 * time.Millisecond
	// maxHeapGrowth bounds the live heap's growth over one scenario.
	maxHeapGrowth = 64 << 20
)

// outcome says how a fault affects the connection, and so how recovery is
// measured.
type outcome int

const (
	// breaks: the connection dies and comes back in a new epoch; recovery
	// runs from the injection (env.at; for a black hole, detection time is
	// included) to the first ack after reconnecting.
	breaks outcome = iota
	// degrades: the connection stays up, slowly; no recovery is measured.
	degrades
	// blocks: the broker blocked publishers; recovery runs from the lift
	// (env.lifted) to the next confirmed publish.
	blocks
)

// scenario is one row of the fault matrix: a fault injected Faults times,
// at random moments, into a running stream.
type scenario struct {
	name string
	// net: the fault needs a real network path (skipped on memory).
	net bool
	// faults is the number of injections (times 5 in soak mode).
	faults int
	// rate caps the stream's publishes per second; 0 means 1000. Faults
	// whose injection is slow need a slower stream, so that publishers
	// still run when it takes effect.
	rate int
	// inject injects one fault into the connection of epoch e, calls
	// env.probe while the fault is in effect, and returns once the fault
	// is over or the connection has noticed it.
	inject func(env *scenarioEnv, e uint64) outcome
}

// scenarioEnv is what a fault acts on.
type scenarioEnv struct {
	t      *testing.T
	ctx    context.Context
	rnd    *rand.Rand
	b      integration.Broker
	link   integration.Link
	net    integration.NetLink // nil on memory
	cfg    conn.Config
	w      *integration.Watch
	c      *conn.Connection
	flow   *integration.Flow
	stream integration.Stream
	probeQ route.Queue
	at     time.Time // when the fault took effect; injections may move it
	lifted time.Time // when a blocking fault was lifted

	overrun time.Duration
}

// probe publishes once with a short ctx while a fault is in effect and
// records how long after its deadline the call returned. Success and the
// errors of a broken or blocked connection are all fine: what matters is
// that the call honours its ctx.
func (env *scenarioEnv) probe() {
	ctx, cancel := context.WithTimeout(env.ctx, probeTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	err := env.c.Producer(conn.WithRoutingKey(env.probeQ.Name)).Publish(ctx, "probe")
	late := time.Since(deadline)
	env.overrun = max(env.overrun, late)
	if late > probeSlack {
		env.t.Errorf("a probe Publish returned %v after its %v deadline (%v)", late.Round(time.Millisecond), probeTimeout, err)
	}
	switch {
	case err == nil, errors.Is(err, context.DeadlineExceeded), errors.Is(err, conn.ErrConfirmLost),
		errors.Is(err, conn.ErrConnectionLost), errors.Is(err, conn.ErrChannelClosed):
	default:
		env.t.Errorf("probe Publish during the fault: %v", err)
	}
}

// broke returns breaks when the connection of epoch e noticed the fault
// within 3 s. A pooled client (Redis) absorbs the loss of connections
// that were idle, or whose command it retries on the next tick (a claim
// refresh): then there is nothing to recover from, and broke checks that
// the stream goes on (100 more acks) and returns degrades.
func (env *scenarioEnv) broke(e uint64, what string) outcome {
	ctx, cancel := context.WithTimeout(env.ctx, 3*time.Second)
	defer cancel()
	if env.w.WaitLost(ctx, e) == nil {
		return breaks
	}
	env.t.Logf("%s did not break the connection", what)
	env.ackMore(100)
	return degrades
}

// ackMore waits until n more distinct messages were acked (or the stream
// acked them all).
func (env *scenarioEnv) ackMore(n int) {
	env.t.Helper()
	target := min(env.flow.Progress().Acked+n, env.stream.Messages)
	env.flow.WaitAcked(env.ctx, target)
}

// netFaults returns the scenarios run in the shared CI step: every fault
// that disturbs only the test's own connection.
func netFaults() []scenario {
	return []scenario{
		{name: "broker closes the connection", faults: 2, inject: func(env *scenarioEnv, e uint64) outcome {
			if n := env.b.CloseConnections(env.t, env.cfg.Name); n != 1 {
				env.t.Fatalf("the broker closed %d connections named %s, want 1", n, env.cfg.Name)
			}
			env.at = time.Now() // rabbitmqctl takes a while to start
			env.probe()
			return env.broke(e, "the kill")
		}},
		{name: "cut", faults: 3, inject: func(env *scenarioEnv, e uint64) outcome {
			if n := env.link.Cut(); n < 1 {
				env.t.Fatalf("the cut closed %d connections", n)
			}
			env.probe()
			return env.broke(e, "the cut")
		}},
		{name: "reset", net: true, faults: 2, inject: func(env *scenarioEnv, e uint64) outcome {
			if n := env.net.Reset(); n < 1 {
				env.t.Fatalf("the reset closed %d connections", n)
			}
			env.probe()
			return env.broke(e, "the reset")
		}},
		{name: "cut mid-frame", net: true, faults: 3, inject: func(env *scenarioEnv, e uint64) outcome {
			n := 1 + env.rnd.Int64N(4096)
			fired := env.net.CutAfter(n)
			select {
			case <-fired:
			case <-env.ctx.Done():
				env.t.Fatalf("the cut after %d bytes never fired", n)
			}
			env.probe()
			return env.broke(e, fmt.Sprintf("the cut after %d bytes", n))
		}},
		{name: "black hole", net: true, faults: 1, inject: func(env *scenarioEnv, e uint64) outcome {
			env.link.Hold()
			env.probe() // waits on a silent path
			err := env.w.WaitLost(env.ctx, e)
			env.link.Release()
			if err != nil {
				env.t.Fatal(err)
			}
			return breaks
		}},
		{name: "broker unreachable", faults: 1, inject: func(env *scenarioEnv, e uint64) outcome {
			env.link.SetDown(true)
			defer env.link.SetDown(false)
			if err := env.link.WaitRefused(env.ctx, env.link.Refused()+2); err != nil {
				env.t.Fatal(err)
			}
			env.probe()
			return breaks
		}},
		{name: "latency and jitter", net: true, faults: 2, inject: func(env *scenarioEnv, e uint64) outcome {
			env.net.Shape(integration.Shape{
				Latency: time.Duration(5+env.rnd.IntN(20)) * time.Millisecond,
				Jitter:  time.Duration(1+env.rnd.IntN(20)) * time.Millisecond,
			})
			defer env.net.Shape(integration.Shape{})
			env.probe()
			env.ackMore(50)
			return degrades
		}},
		{name: "bandwidth throttle", net: true, faults: 2, inject: func(env *scenarioEnv, e uint64) outcome {
			env.net.Shape(integration.Shape{Bandwidth: (16 + env.rnd.IntN(48)) << 10})
			defer env.net.Shape(integration.Shape{})
			env.probe()
			env.ackMore(100)
			return degrades
		}},
	}
}

// matrixFigures collects the figures of TestScenarioMatrix.
var matrixFigures integration.Figures

// The scenario matrix of issue 6: on every transport, four publishers
// and two consumers stream messages with unique ids through one
// connection while a fault is injected at seeded random moments
// (KELP_SEED replays a run). Every scenario checks that every confirmed
// publish was delivered (duplicates counted), that the queue is empty once
// every delivery was acked, that both consumers kept their Go channel,
// that every call returned within its ctx (a probe publish with a short
// ctx runs during each fault), that the heap did not grow without bound,
// and that no goroutine leaked. The figures are logged at the end.
func TestScenarioMatrix(t *testing.T) {
	integration.Seed(t)
	for _, sc := range netFaults() {
		t.Run(sc.name, func(t *testing.T) {
			integration.Run(t, func(t *testing.T, b integration.Broker) {
				runScenario(t, b, sc, &matrixFigures)
			})
		})
	}
	for _, sc := range redisServerFaults() {
		t.Run(sc.name, func(t *testing.T) {
			t.Run("redis", func(t *testing.T) {
				integration.NoLeaks(t)
				runScenario(t, privateRedis(t), sc, &matrixFigures)
			})
		})
	}
	matrixFigures.Summary(t, "matrix")
}

// privateRedis starts a redis-server of the test's own (internal/redisproc)
// that persists every write before answering (appendonly, appendfsync
// always) and allows DEBUG, and returns a Broker on it: the faults of
// redisServerFaults stop or pause the whole server, which the shared one
// on 6379 must not see.
func privateRedis(t *testing.T) integration.Broker {
	srv := redisproc.Start(t, redisproc.Options{AppendOnly: true, Args: []string{"--enable-debug-command", "yes"}})
	return integration.OpenRedisServer(t, srv)
}

// redisServer returns a client of the private server of a Broker made by
// privateRedis.
func redisServer(env *scenarioEnv) *goredis.Client {
	return env.b.(integration.RawRedis).Client()
}

// redisServerFaults returns the faults that act on a whole redis-server:
// they run on a private one (privateRedis).
func redisServerFaults() []scenario {
	pause := func(mode string) func(env *scenarioEnv, e uint64) outcome {
		return func(env *scenarioEnv, e uint64) outcome {
			ms := 1000 + env.rnd.IntN(1500)
			if err := redisServer(env).Do(env.ctx, "CLIENT", "PAUSE", ms, mode).Err(); err != nil {
				env.t.Fatalf("CLIENT PAUSE %d %s: %v", ms, mode, err)
			}
			env.probe() // waits on a paused server
			return env.broke(e, fmt.Sprintf("a %d ms pause (%s)", ms, mode))
		}
	}
	return []scenario{
		{name: "client pause write", faults: 2, inject: pause("WRITE")},
		{name: "client pause all", faults: 2, inject: pause("ALL")},
		{name: "debug sleep", faults: 2, inject: func(env *scenarioEnv, e uint64) outcome {
			// Up to 3 s: longer than the Link's 2 s socket timeout, which
			// then breaks the connection, or shorter, which only stalls it.
			d := time.Duration(500+env.rnd.IntN(2500)) * time.Millisecond
			slept := make(chan error, 1)
			go func() { // owned by this injection, which waits for it
				slept <- redisServer(env).Do(env.ctx, "DEBUG", "SLEEP", d.Seconds()).Err()
			}()
			env.probe() // queued behind the sleep, or done just before it
			if err := <-slept; err != nil {
				env.t.Fatalf("DEBUG SLEEP %v: %v", d, err)
			}
			return env.broke(e, fmt.Sprintf("a %v sleep", d))
		}},
		{name: "server restart", faults: 1, inject: func(env *scenarioEnv, e uint64) outcome {
			env.b.Stop(env.t) // SIGTERM: Redis writes its append-only file and exits
			env.probe()
			if err := env.w.WaitLost(env.ctx, e); err != nil {
				env.t.Fatal(err)
			}
			env.b.Start(env.t)
			return breaks
		}},
		{name: "server crash", faults: 1, inject: func(env *scenarioEnv, e uint64) outcome {
			srv := env.b.(integration.RawRedis).Server()
			srv.Kill() // SIGKILL: what Redis answered is in its append-only file
			env.probe()
			err := env.w.WaitLost(env.ctx, e)
			srv.Start()
			if err != nil {
				env.t.Fatal(err)
			}
			return breaks
		}},
	}
}

// disruptiveFigures collects the figures of TestDisruptiveMatrix.
var disruptiveFigures integration.Figures

// The faults of the matrix that disturb every client of the shared
// broker: a node restart and a memory alarm. They run only with
// KELP_DISRUPTIVE=1, and the broker is restored (started, watermark put
// back) even when the test fails.
func TestDisruptiveMatrix(t *testing.T) {
	integration.Disruptive(t)
	integration.Seed(t)
	faults := []scenario{
		{name: "node restart", faults: 1, inject: func(env *scenarioEnv, e uint64) outcome {
			env.b.Stop(env.t)
			env.at = time.Now()
			env.probe()
			if err := env.w.WaitLost(env.ctx, e); err != nil {
				env.t.Fatal(err)
			}
			env.b.Start(env.t)
			return breaks
		}},
		{name: "memory alarm", faults: 1, rate: 250, inject: func(env *scenarioEnv, e uint64) outcome {
			clear := env.b.Alarm(env.t)
			ctx, cancel := context.WithTimeout(env.ctx, 20*time.Second)
			defer cancel()
			_, err := env.w.Wait(ctx, func(sc conn.StateChange) bool { return sc.State == conn.StateBlocked })
			if err == nil {
				env.probe() // blocked: returns at its deadline
			}
			clear()
			env.lifted = time.Now()
			if err != nil {
				env.t.Fatalf("publishers not blocked by the alarm: %v", err)
			}
			return blocks
		}},
	}
	for _, sc := range faults {
		t.Run(sc.name, func(t *testing.T) {
			integration.Run(t, func(t *testing.T, b integration.Broker) {
				runScenario(t, b, sc, &disruptiveFigures)
			})
		})
	}
	disruptiveFigures.Summary(t, "disruptive")
}

// runScenario runs one scenario on b and records its figures in figs.
func runScenario(t *testing.T, b integration.Broker, sc scenario, figs *integration.Figures) {
	scale := 1
	if integration.Soak() {
		scale = 5
	}
	ctx := integration.Ctx(t, time.Duration(scale)*2*time.Minute)
	link := b.Link(t)
	nl, _ := link.(integration.NetLink)
	if sc.net && nl == nil {
		t.Skipf("%s has no network path for this fault", b.Transport())
	}
	heap0 := liveHeap()
	cfg, w := integration.Config(t, "matrix")
	c := integration.Open(t, link.Connector(), cfg)
	env := &scenarioEnv{
		t: t, ctx: ctx, rnd: integration.Rand(t), b: b, link: link, net: nl, cfg: cfg, w: w, c: c,
		stream: integration.Stream{Publishers: 4, Consumers: 2, Messages: 1500 * scale, Rate: cmp.Or(sc.rate, 1000)},
		probeQ: b.Queue(t, "matrix-probe"),
	}
	if err := c.Declare(ctx, env.probeQ); err != nil {
		t.Fatal(err)
	}
	env.flow = env.stream.Start(ctx, t, c, b.Queue(t, "matrix"))
	fig := integration.Figure{Transport: b.Transport(), Scenario: sc.name}
	for _, at := range moments(env.rnd, sc.faults*scale, env.stream.Messages) {
		env.flow.WaitAcked(ctx, at)
		e := c.Epoch()
		env.at = time.Now()
		out := sc.inject(env, e)
		fig.Faults++
		switch out {
		case breaks:
			if err := w.WaitOpen(ctx, e+1); err != nil {
				t.Fatalf("not reconnected after the fault: %v", err)
			}
			acked := env.flow.Progress().Acked
			env.flow.WaitAcked(ctx, min(acked+1, env.stream.Messages))
			fig.Recover = append(fig.Recover, time.Since(env.at))
		case blocks:
			confirmed := env.flow.Progress().Confirmed
			if err := env.flow.WaitFor(ctx, func(p integration.Progress) bool {
				return p.Confirmed > confirmed || p.Confirmed >= env.stream.Messages
			}); err != nil {
				t.Fatalf("no publish confirmed after the fault was lifted: %v", err)
			}
			fig.Recover = append(fig.Recover, time.Since(env.lifted))
		}
	}
	fig.Result = env.flow.Finish(ctx, integration.Unsettled(b))
	fig.Result.Check(t)
	fig.MaxOverrun = env.overrun
	fig.HeapGrowth = int64(liveHeap()) - int64(heap0)
	if fig.HeapGrowth > maxHeapGrowth {
		t.Errorf("the live heap grew by %d MiB over the scenario", fig.HeapGrowth>>20)
	}
	t.Logf("%s: %d faults, recoveries %v, heap %+d KiB", sc.name, fig.Faults, rounded(fig.Recover), fig.HeapGrowth>>10)
	figs.Add(fig)
}

// moments returns n distinct ack counts, sorted, between 5% and 60% of
// messages, at which to inject faults: early enough that publishers are
// still running.
func moments(rnd *rand.Rand, n, messages int) []int {
	lo, hi := messages/20, messages*3/5
	var at []int
	for len(at) < min(n, hi-lo) {
		if m := lo + rnd.IntN(hi-lo); !slices.Contains(at, m) {
			at = append(at, m)
		}
	}
	slices.Sort(at)
	return at
}

// liveHeap returns the live heap after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func rounded(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}
