package beanstalk_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	bs "github.com/beanstalkd/go-beanstalk"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/beanstalk"
)

// tubeStat reads one field of stats-tube for queue's tube, straight from
// the server (0 when the tube does not exist).
func tubeStat(t *testing.T, c *beanstalk.Connector, queue, field string) int {
	t.Helper()
	raw, err := bs.DialTimeout("tcp", c.Config().Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	st, err := bs.NewTube(raw, c.Config().TubePrefix+queue).Stats()
	if errors.Is(err, bs.ErrNotFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(st[field])
	if err != nil {
		t.Fatalf("stats-tube %s: %q: %v", field, st[field], err)
	}
	return n
}

// waitStat polls tubeStat until it reads want (beanstalkd is another
// process: there is no signal to wait on).
func waitStat(t *testing.T, c *beanstalk.Connector, queue, field string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := tubeStat(t, c, queue, field)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s of %s is %d, want %d", field, queue, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// openQueue dials c and declares queue q on a fresh channel.
func openQueue(t *testing.T, c *beanstalk.Connector, q route.Queue) (transports.Conn, transports.Channel) {
	t.Helper()
	conn := dial(t, c)
	ch, err := conn.Channel(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	return conn, ch
}

func publish(t *testing.T, ch transports.Channel, queue string, m transports.Message) {
	t.Helper()
	if _, err := ch.Publish(context.Background(), transports.Publishing{RoutingKey: queue, Message: m}); err != nil {
		t.Fatal(err)
	}
}

func mustGet(t *testing.T, ch transports.Channel, queue string) transports.Delivery {
	t.Helper()
	d, ok, err := ch.Get(context.Background(), queue, false)
	if err != nil || !ok {
		t.Fatalf("Get(%s): ok %v, err %v", queue, ok, err)
	}
	return d
}

// TestRejectedIsBuriedAndKicked: a message rejected without requeue from a
// queue without a dead-letter exchange is buried, out of the queue's
// count, and Kick brings it back, delivered as redelivered.
func TestRejectedIsBuriedAndKicked(t *testing.T) {
	c := newConnector(t, serverURL(t))
	ctx := context.Background()
	_, ch := openQueue(t, c, route.Queue{Name: "rej"})
	publish(t, ch, "rej", transports.Message{Body: []byte("dead")})
	d := mustGet(t, ch, "rej")
	if err := ch.Nack(ctx, d.Tag, false, false); err != nil {
		t.Fatal(err)
	}
	if got := tubeStat(t, c, "rej", "current-jobs-buried"); got != 1 {
		t.Fatalf("%d buried jobs after a reject, want 1", got)
	}
	if _, ok, err := ch.Get(ctx, "rej", false); ok || err != nil {
		t.Fatalf("a buried message was delivered (ok %v, err %v)", ok, err)
	}
	n, err := c.Kick(ctx, "rej", 10)
	if err != nil || n != 1 {
		t.Fatalf("Kick = %d, %v; want 1", n, err)
	}
	d = mustGet(t, ch, "rej")
	if string(d.Body) != "dead" || !d.Redelivered {
		t.Fatalf("kicked delivery: body %q, redelivered %v", d.Body, d.Redelivered)
	}
	if err := ch.Ack(ctx, d.Tag, false); err != nil {
		t.Fatal(err)
	}
	if got := tubeStat(t, c, "rej", "current-jobs-buried"); got != 0 {
		t.Fatalf("%d buried jobs after the kicked message was acked", got)
	}
}

// TestExpiredIsBuriedAndKickedLives: an expired message is buried, and
// once kicked it is delivered: its expiry no longer applies.
func TestExpiredIsBuriedAndKickedLives(t *testing.T) {
	c := newConnector(t, serverURL(t))
	ctx := context.Background()
	_, ch := openQueue(t, c, route.Queue{Name: "ttl"})
	publish(t, ch, "ttl", transports.Message{Body: []byte("late"), Properties: transports.Properties{Expiration: "20"}})
	waitStat(t, c, "ttl", "current-jobs-buried", 1) // the virtual layer's expiry timer buries it
	if n, err := c.Kick(ctx, "ttl", 1); err != nil || n != 1 {
		t.Fatalf("Kick = %d, %v; want 1", n, err)
	}
	d := mustGet(t, ch, "ttl")
	if string(d.Body) != "late" {
		t.Fatalf("kicked expired message: body %q", d.Body)
	}
	if err := ch.Ack(ctx, d.Tag, false); err != nil {
		t.Fatal(err)
	}
}

// TestDeadLetterExchangeWins: with a dead-letter exchange a rejected
// message is dead-lettered, not buried.
func TestDeadLetterExchangeWins(t *testing.T) {
	c := newConnector(t, serverURL(t))
	ctx := context.Background()
	_, ch := openQueue(t, c, route.Queue{Name: "dl"})
	if err := ch.ExchangeDeclare(ctx, route.Exchange{Name: "dlx", Kind: route.Direct}); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(ctx, "dl", "dlx", "dl", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(ctx, route.Queue{Name: "src", DeadLetterExchange: "dlx", DeadLetterRoutingKey: "dl"}); err != nil {
		t.Fatal(err)
	}
	publish(t, ch, "src", transports.Message{Body: []byte("x")})
	d := mustGet(t, ch, "src")
	if err := ch.Nack(ctx, d.Tag, false, false); err != nil {
		t.Fatal(err)
	}
	if got := tubeStat(t, c, "src", "current-jobs-buried"); got != 0 {
		t.Fatalf("%d buried jobs in a queue with a dead-letter exchange", got)
	}
	d = mustGet(t, ch, "dl")
	if string(d.Body) != "x" {
		t.Fatalf("dead-lettered body %q", d.Body)
	}
}

// TestNoBuryDeletes: with bury=false a rejected message is gone.
func TestNoBuryDeletes(t *testing.T) {
	c := newConnector(t, serverURL(t)+"?bury=false")
	ctx := context.Background()
	_, ch := openQueue(t, c, route.Queue{Name: "nobury"})
	publish(t, ch, "nobury", transports.Message{Body: []byte("x")})
	d := mustGet(t, ch, "nobury")
	if err := ch.Nack(ctx, d.Tag, false, false); err != nil {
		t.Fatal(err)
	}
	if got := tubeStat(t, c, "nobury", "current-jobs-buried"); got != 0 {
		t.Fatalf("%d buried jobs with bury=false", got)
	}
	if n, err := c.Kick(ctx, "nobury", 1); err != nil || n != 0 {
		t.Fatalf("Kick = %d, %v; want 0", n, err)
	}
}

// TestDelayHeader: a message with x-delay stays delayed in beanstalkd
// (not ready, not counted) and is delivered once the delay, rounded up to
// a second, has passed.
func TestDelayHeader(t *testing.T) {
	c := newConnector(t, serverURL(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, ch := openQueue(t, c, route.Queue{Name: "later"})
	start := time.Now()
	publish(t, ch, "later", transports.Message{Body: []byte("later"), Headers: route.Table{beanstalk.DelayHeader: int64(700)}})
	publish(t, ch, "later", transports.Message{Body: []byte("now")})
	if got := tubeStat(t, c, "later", "current-jobs-delayed"); got != 1 {
		t.Fatalf("%d delayed jobs, want 1", got)
	}
	info, err := ch.QueueDeclare(ctx, route.Queue{Name: "later", Passive: true})
	if err != nil || info.Messages != 1 {
		t.Fatalf("passive declare: %+v, %v; want 1 ready message", info, err)
	}
	sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: "later", NoAck: true})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for len(order) < 2 {
		select {
		case d := <-sub.Deliveries():
			order = append(order, string(d.Body))
		case <-ctx.Done():
			t.Fatalf("got %v, then nothing", order)
		}
	}
	waited := time.Since(start)
	if strings.Join(order, ",") != "now,later" || waited < time.Second {
		t.Fatalf("order %v after %v; want now,later after at least 1s (700 ms rounded up)", order, waited)
	}
}

// TestOversizedJob: a message above the server's max-job-size fails its
// publish with 311 CONTENT_TOO_LARGE; the connection stays up and nothing
// stored is lost.
func TestOversizedJob(t *testing.T) {
	c := newConnector(t, serverURL(t))
	ctx := context.Background()
	conn, ch := openQueue(t, c, route.Queue{Name: "big"})
	publish(t, ch, "big", transports.Message{Body: []byte("before")})
	_, err := ch.Publish(ctx, transports.Publishing{RoutingKey: "big", Message: transports.Message{Body: make([]byte, 70_000)}})
	if !errors.Is(err, transports.ErrContentTooLarge) || errors.Is(err, transports.ErrConnLost) {
		t.Fatalf("oversized publish: %v; want 311 CONTENT_TOO_LARGE, not a lost connection", err)
	}
	if !strings.Contains(err.Error(), "max-job-size") {
		t.Errorf("error %q does not name the limit", err)
	}
	if conn.Err() != nil {
		t.Fatalf("the connection died: %v", conn.Err())
	}
	ch2, err := conn.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	publish(t, ch2, "big", transports.Message{Body: []byte("after")})
	for _, want := range []string{"before", "after"} {
		d := mustGet(t, ch2, "big")
		if string(d.Body) != want {
			t.Fatalf("got %q, want %q", d.Body, want)
		}
		if err := ch2.Ack(ctx, d.Tag, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, _ := ch2.Get(ctx, "big", false); ok {
		t.Fatal("the oversized message was stored")
	}
}

// TestForeignJobIsBuried: a job that is not a kelp envelope is buried and
// the next message delivered.
func TestForeignJobIsBuried(t *testing.T) {
	c := newConnector(t, serverURL(t))
	_, ch := openQueue(t, c, route.Queue{Name: "mixed"})
	raw, err := bs.DialTimeout("tcp", c.Config().Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := bs.NewTube(raw, c.Config().TubePrefix+"mixed").Put([]byte("not json"), 0, 0, time.Minute); err != nil {
		t.Fatal(err)
	}
	publish(t, ch, "mixed", transports.Message{Body: []byte("kelp")})
	if d := mustGet(t, ch, "mixed"); string(d.Body) != "kelp" {
		t.Fatalf("got %q", d.Body)
	}
	if got := tubeStat(t, c, "mixed", "current-jobs-buried"); got != 1 {
		t.Fatalf("%d buried jobs, want the foreign one", got)
	}
	if _, err := ch.QueueDelete(context.Background(), "mixed", transports.QueueDeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := tubeStat(t, c, "mixed", "current-jobs-buried"); got != 0 {
		t.Fatalf("%d buried jobs left after deleting the queue", got)
	}
}

// TestBadInput: malformed URLs fail with ErrInvalidConfig or
// transports.ErrInvalidURL, naming the problem; an unreachable server fails
// Connect with ErrConnLost.
func TestBadInput(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"beanstalk://127.0.0.1:port", "invalid"},
		{"amqp://127.0.0.1", "scheme"},
		{"beanstalk://user@127.0.0.1", "no users"},
		{"beanstalk://127.0.0.1/vhost", "virtual hosts"},
		{"beanstalk://127.0.0.1?ttr=soon", "ttr"},
		{"beanstalk://127.0.0.1?ttr=500ms", "TTR"},
		{"beanstalk://127.0.0.1?bury=maybe", "bury"},
		{"beanstalk://127.0.0.1?tubes=x", "unknown option"},
	} {
		_, err := beanstalk.ParseURL(tc.url)
		if err == nil || !errors.Is(err, beanstalk.ErrInvalidConfig) && !errors.Is(err, transports.ErrInvalidURL) {
			t.Errorf("ParseURL(%q) = %v; want an invalid-configuration error", tc.url, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseURL(%q) = %q; want it to say %q", tc.url, err, tc.want)
		}
	}
	c, err := beanstalk.NewConnector(beanstalk.Config{Addr: "127.0.0.1:1", DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Connect(context.Background(), transports.ConnectOptions{}); !errors.Is(err, transports.ErrConnLost) {
		t.Fatalf("Connect to a closed port: %v; want ErrConnLost", err)
	}
}

// TestDelayValues: the x-delay forms read, rounded up to seconds.
func TestDelayValues(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want time.Duration
	}{
		{nil, 0}, {int64(0), 0}, {-5, 0}, {"junk", 0}, {true, 0},
		{1, time.Second}, {int32(1000), time.Second}, {uint16(1001), 2 * time.Second},
		{float64(2500), 3 * time.Second}, {"3000", 3 * time.Second}, {uint64(1) << 63, 4294967295 * time.Second},
	} {
		if got := beanstalk.JobDelay(tc.v); got != tc.want {
			t.Errorf("delay of %#v = %v, want %v", tc.v, got, tc.want)
		}
	}
}
