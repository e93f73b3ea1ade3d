package integration

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"
)

// Proxy is a TCP proxy on loopback between clients and a broker, for
// network faults. Clients dial [Proxy.Addr]; every accepted connection is
// forwarded to the target address given to [NewProxy] until a fault says
// otherwise:
//
//   - [Proxy.Cut] closes every live connection at once, as a failed network
//     would; new connections are forwarded again.
//   - [Proxy.Hold] black-holes the path: nothing is forwarded in either
//     direction and nothing is closed (not even a side that hangs up), so
//     only heartbeats or timeouts can notice. [Proxy.Release] resumes.
//   - [Proxy.SetDown] makes the broker unreachable: live connections are
//     cut and new ones are reset as soon as they are accepted, until
//     SetDown(false). [Proxy.WaitRefused] waits for refused attempts.
//   - [Proxy.Reset] closes every live connection with a TCP reset (RST)
//     rather than an orderly close.
//   - [Proxy.Shape] slows the path down: latency and jitter before every
//     forwarded chunk, and a bandwidth cap; the zero [Shape] lifts it.
//   - [Proxy.CutAfter] cuts the connection that carries the next n bytes
//     exactly after them, in the middle of whatever frame they belong to.
//
// A Proxy is safe for concurrent use. It owns one goroutine accepting and
// two per forwarded connection; [Proxy.Close] ends them all and waits.
type Proxy struct {
	ln     net.Listener
	target string
	closed chan struct{}
	wg     sync.WaitGroup

	refused *counter // connections reset while down

	mu      sync.Mutex
	pairs   map[*pair]struct{}
	gate    chan struct{} // closed while forwarding; open while held
	down    bool
	stopped bool
	shape   Shape
	rnd     *rand.Rand    // jitter; guarded by mu
	budget  int64         // bytes left before a CutAfter fires; -1 when unarmed
	fired   chan struct{} // closed when the armed CutAfter fires
}

// Shape is a degraded network path for [Proxy.Shape]. The zero Shape
// forwards at full speed.
type Shape struct {
	// Latency delays every forwarded chunk, in each direction.
	Latency time.Duration
	// Jitter adds a uniformly random extra delay in [0, Jitter) to each
	// chunk. Chunks of one direction keep their order.
	Jitter time.Duration
	// Bandwidth caps each direction of each connection, in bytes per
	// second. Zero means no cap.
	Bandwidth int
}

// pair is one client connection and its upstream connection.
type pair struct {
	client, upstream net.Conn
	once             sync.Once
	dead             chan struct{} // closed by kill
}

// kill closes both sides of the pair once.
func (p *pair) kill() {
	p.once.Do(func() {
		close(p.dead)
		p.client.Close()
		p.upstream.Close()
	})
}

// ErrProxyClosed is returned by the waiting methods of a closed [Proxy].
var ErrProxyClosed = errors.New("integration: proxy closed")

// NewProxy listens on a free loopback port and forwards to target
// ("host:port"). Close it when done.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("integration: proxy: %w", err)
	}
	gate := make(chan struct{})
	close(gate)
	p := &Proxy{
		ln:      ln,
		target:  target,
		closed:  make(chan struct{}),
		refused: newCounter(),
		pairs:   map[*pair]struct{}{},
		gate:    gate,
		rnd:     rand.New(rand.NewPCG(1, 2)),
		budget:  -1,
	}
	p.wg.Go(p.accept)
	return p, nil
}

// Addr returns the address clients dial, "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Host returns the host clients dial, "127.0.0.1".
func (p *Proxy) Host() string {
	h, _, _ := net.SplitHostPort(p.Addr())
	return h
}

// Port returns the port clients dial.
func (p *Proxy) Port() int {
	_, port, _ := net.SplitHostPort(p.Addr())
	n, _ := strconv.Atoi(port)
	return n
}

// accept forwards new connections until the listener closes.
func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.admit(c) {
			continue
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			reset(c)
			continue
		}
		pr := &pair{client: c, upstream: u, dead: make(chan struct{})}
		p.mu.Lock()
		if p.stopped || p.down { // closed or taken down while dialling
			p.mu.Unlock()
			pr.kill()
			continue
		}
		p.pairs[pr] = struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		go p.pipe(pr, c, u)
		go p.pipe(pr, u, c)
	}
}

// admit reports whether to forward an accepted connection: while the
// proxy is down it is reset at once, and counted.
func (p *Proxy) admit(c net.Conn) bool {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		reset(c)
		p.refused.add()
	}
	return !down
}

// reset closes c with a TCP reset, as a closed port would answer.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}

// pipe copies src to dst, waiting at the gate before every write and
// applying the shape and an armed CutAfter. When src ends while the proxy
// is held, the end is not passed on until release, so that a black hole
// stays silent.
func (p *Proxy) pipe(pr *pair, src, dst net.Conn) {
	defer p.wg.Done()
	defer p.forget(pr)
	defer pr.kill()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if !p.pass(pr) {
			return
		}
		for chunk := buf[:n]; len(chunk) > 0; {
			size, delay, ok := p.plan(len(chunk))
			if !ok || !p.wait(pr, delay) {
				return
			}
			if _, werr := dst.Write(chunk[:size]); werr != nil {
				return
			}
			if p.spend(size) {
				return
			}
			chunk = chunk[size:]
		}
		if err != nil {
			return
		}
	}
}

// plan returns how much of an n-byte chunk to write next and how long to
// wait first, under the current shape and cut budget; ok is false when an
// armed cut has nothing left to let through.
func (p *Proxy) plan(n int) (size int, delay time.Duration, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	size, sh := n, p.shape
	if sh.Bandwidth > 0 {
		// At most a tenth of a second's worth at a time, so that a cap
		// is smooth rather than bursty.
		size = min(size, max(sh.Bandwidth/10, 1))
		delay += time.Duration(size) * time.Second / time.Duration(sh.Bandwidth)
	}
	delay += sh.Latency
	if sh.Jitter > 0 {
		delay += time.Duration(p.rnd.Int64N(int64(sh.Jitter)))
	}
	if p.budget >= 0 {
		if p.budget == 0 {
			p.fire()
			return 0, 0, false
		}
		size = min(size, int(min(p.budget, int64(size))))
	}
	return size, delay, true
}

// spend counts size forwarded bytes against an armed cut and reports
// whether the cut fired on this pair.
func (p *Proxy) spend(size int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.budget < 0 {
		return false
	}
	p.budget = max(p.budget-int64(size), 0)
	if p.budget > 0 {
		return false
	}
	p.fire()
	return true
}

// fire disarms the cut; p.mu must be held. The caller's pipe then
// returns, which kills its pair.
func (p *Proxy) fire() {
	p.budget = -1
	close(p.fired)
}

// wait sleeps for d unless the pair or the proxy dies first.
func (p *Proxy) wait(pr *pair, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-pr.dead:
	case <-p.closed:
	}
	return false
}

// pass waits while the proxy is held; false when the pair or the proxy
// died meanwhile.
func (p *Proxy) pass(pr *pair) bool {
	p.mu.Lock()
	gate := p.gate
	p.mu.Unlock()
	select {
	case <-gate:
		return true
	case <-pr.dead:
	case <-p.closed:
	}
	return false
}

func (p *Proxy) forget(pr *pair) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.pairs, pr)
}

// Cut closes every live connection through the proxy, as a network
// failure would, and returns how many there were. Connections made later
// are forwarded (unless the proxy is down).
func (p *Proxy) Cut() int {
	pairs := p.live()
	for _, pr := range pairs {
		pr.kill()
	}
	return len(pairs)
}

// live returns the live pairs.
func (p *Proxy) live() []*pair {
	p.mu.Lock()
	defer p.mu.Unlock()
	pairs := make([]*pair, 0, len(p.pairs))
	for pr := range p.pairs {
		pairs = append(pairs, pr)
	}
	return pairs
}

// Reset closes every live connection through the proxy with a TCP reset
// on both sides, as a crashed middlebox would, and returns how many there
// were. Connections made later are forwarded (unless the proxy is down).
func (p *Proxy) Reset() int {
	pairs := p.live()
	for _, pr := range pairs {
		reset(pr.client)
		reset(pr.upstream)
		pr.kill()
	}
	return len(pairs)
}

// Shape degrades every connection through the proxy, live and new, until
// the next call; Shape(Shape{}) restores full speed.
func (p *Proxy) Shape(s Shape) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.shape = s
}

// CutAfter arms a cut: the proxy forwards n more bytes, counted over every
// connection and both directions, then kills the connection that carried
// the last of them, in the middle of its write (so mid-frame, unless the
// count happens to end one). The returned channel closes when the cut
// fires. A later CutAfter replaces one that has not fired (whose channel
// then never closes).
func (p *Proxy) CutAfter(n int64) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.budget = max(n, 0)
	p.fired = make(chan struct{})
	return p.fired
}

// Hold stops forwarding in both directions without closing anything, until
// [Proxy.Release]. New connections are accepted and held too.
func (p *Proxy) Hold() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.gate:
		p.gate = make(chan struct{})
	default: // already held
	}
}

// Release resumes forwarding after [Proxy.Hold]; what was held is sent.
func (p *Proxy) Release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.gate:
	default:
		close(p.gate)
	}
}

// SetDown(true) makes the broker unreachable through the proxy: live
// connections are cut and new ones reset as soon as they are accepted.
// SetDown(false) forwards new connections again.
func (p *Proxy) SetDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
	if down {
		p.Cut()
	}
}

// Refused returns the number of connections reset because the proxy was
// down.
func (p *Proxy) Refused() int { return p.refused.load() }

// WaitRefused waits until at least n connections have been refused in
// total, or ctx ends (its error), or the proxy closes ([ErrProxyClosed]).
func (p *Proxy) WaitRefused(ctx context.Context, n int) error {
	return p.refused.wait(ctx, n, p.closed, ErrProxyClosed)
}

// Close stops the proxy: the listener and every connection close, and
// Close waits for the proxy's goroutines. It is idempotent.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		p.wg.Wait()
		return nil
	}
	p.stopped = true
	close(p.closed)
	p.mu.Unlock()
	err := p.ln.Close()
	p.Cut()
	p.wg.Wait()
	return err
}
