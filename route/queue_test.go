package route_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
)

func TestNewQueueAndBind(t *testing.T) {
	ex := route.NewExchange("tasks", route.Topic)
	q := route.NewQueue("q", route.Bind(ex, "a.#"))
	want := route.Queue{Name: "q", Durable: true, Bindings: []route.Binding{{Exchange: ex, RoutingKey: "a.#"}}}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("NewQueue = %+v, want %+v", q, want)
	}
}

func TestQueueValidate(t *testing.T) {
	topic := route.NewExchange("t", route.Topic)
	headers := route.NewExchange("h", route.Headers)
	q := func(f func(*route.Queue)) route.Queue {
		v := route.NewQueue("q")
		f(&v)
		return v
	}
	tests := []struct {
		name   string
		q      route.Queue
		wantIs []error // nil: valid
	}{
		{"plain", route.NewQueue("q"), nil},
		{"server named", route.NewQueue(""), nil},
		{"every field", fullQueue(), nil},
		{"amq. passive", q(func(q *route.Queue) { q.Name = "amq.gen-x"; q.Passive = true }), nil},
		{"zero ttl argument", q(func(q *route.Queue) { q.Arguments = route.Table{"x-message-ttl": 0} }), nil},
		{"dlx default exchange", q(func(q *route.Queue) {
			q.Arguments = route.Table{"x-dead-letter-exchange": ""}
			q.DeadLetterRoutingKey = "dead"
		}), nil},
		{"field and equal argument", q(func(q *route.Queue) {
			q.MaxLength = 10
			q.Arguments = route.Table{"x-max-length": 10.0}
		}), nil},
		{"quorum", q(func(q *route.Queue) { q.Type = route.QueueQuorum }), nil},
		{"headers binding", q(func(q *route.Queue) {
			q.Bindings = []route.Binding{{Exchange: headers, Arguments: route.Table{"x-match": "any", "a": 1}}}
		}), nil},

		{"long name", q(func(q *route.Queue) { q.Name = strings.Repeat("q", 256) }), []error{route.ErrInvalidQueue}},
		{"amq. name", q(func(q *route.Queue) { q.Name = "amq.mine" }), []error{route.ErrInvalidQueue}},
		{"negative ttl", q(func(q *route.Queue) { q.MessageTTL = -time.Second }),
			[]error{route.ErrInvalidQueue, route.ErrInvalidDuration}},
		{"sub-millisecond ttl", q(func(q *route.Queue) { q.MessageTTL = 1500 * time.Microsecond }),
			[]error{route.ErrInvalidQueue, route.ErrInvalidDuration}},
		{"negative expires", q(func(q *route.Queue) { q.Expires = -time.Millisecond }),
			[]error{route.ErrInvalidQueue, route.ErrInvalidDuration}},
		{"sub-millisecond expires", q(func(q *route.Queue) { q.Expires = time.Nanosecond }),
			[]error{route.ErrInvalidQueue, route.ErrInvalidDuration}},
		{"negative max length", q(func(q *route.Queue) { q.MaxLength = -1 }), []error{route.ErrInvalidQueue}},
		{"negative max bytes", q(func(q *route.Queue) { q.MaxLengthBytes = -1 }), []error{route.ErrInvalidQueue}},
		{"bad overflow", q(func(q *route.Queue) { q.Overflow = "drop-tail" }), []error{route.ErrInvalidQueue}},
		{"bad type", q(func(q *route.Queue) { q.Type = "lazy" }), []error{route.ErrInvalidQueue}},
		{"ttl argument string", q(func(q *route.Queue) { q.Arguments = route.Table{"x-message-ttl": "10"} }),
			[]error{route.ErrInvalidQueue, route.ErrInvalidArgument}},
		{"ttl argument fraction", q(func(q *route.Queue) { q.Arguments = route.Table{"x-message-ttl": 1.5} }),
			[]error{route.ErrInvalidQueue, route.ErrInvalidArgument}},
		{"zero expires argument", q(func(q *route.Queue) { q.Arguments = route.Table{"x-expires": 0} }),
			[]error{route.ErrInvalidQueue, route.ErrInvalidArgument}},
		{"priority argument too big", q(func(q *route.Queue) { q.Arguments = route.Table{"x-max-priority": 256} }),
			[]error{route.ErrInvalidQueue, route.ErrInvalidArgument}},
		{"overflow argument", q(func(q *route.Queue) { q.Arguments = route.Table{"x-overflow": "nope"} }),
			[]error{route.ErrInvalidQueue, route.ErrInvalidArgument}},
		{"type argument not a string", q(func(q *route.Queue) { q.Arguments = route.Table{"x-queue-type": 1} }),
			[]error{route.ErrInvalidQueue, route.ErrInvalidArgument}},
		{"conflict", q(func(q *route.Queue) {
			q.MessageTTL = time.Second
			q.Arguments = route.Table{"x-message-ttl": 2000}
		}), []error{route.ErrInvalidQueue, route.ErrArgumentConflict}},
		{"conflict with zero argument", q(func(q *route.Queue) {
			q.MaxLength = 5
			q.Arguments = route.Table{"x-max-length": 0}
		}), []error{route.ErrInvalidQueue, route.ErrArgumentConflict}},
		{"string conflict", q(func(q *route.Queue) {
			q.DeadLetterExchange = "a"
			q.Arguments = route.Table{"x-dead-letter-exchange": "b"}
		}), []error{route.ErrInvalidQueue, route.ErrArgumentConflict}},
		{"dlrk without dlx", q(func(q *route.Queue) { q.DeadLetterRoutingKey = "k" }), []error{route.ErrInvalidQueue}},
		{"dlrk argument without dlx", q(func(q *route.Queue) {
			q.Arguments = route.Table{"x-dead-letter-routing-key": "k"}
		}), []error{route.ErrInvalidQueue}},
		{"transient quorum", q(func(q *route.Queue) { q.Type = route.QueueQuorum; q.Durable = false }),
			[]error{route.ErrInvalidQueue}},
		{"exclusive stream", q(func(q *route.Queue) {
			q.Arguments = route.Table{"x-queue-type": "stream"}
			q.Exclusive = true
		}), []error{route.ErrInvalidQueue}},
		{"auto-delete quorum", q(func(q *route.Queue) { q.Type = route.QueueQuorum; q.AutoDelete = true }),
			[]error{route.ErrInvalidQueue}},
		{"binding to default exchange", q(func(q *route.Queue) {
			q.Bindings = []route.Binding{route.Bind(route.NewExchange("", route.Direct), "q")}
		}), []error{route.ErrInvalidQueue, route.ErrInvalidBinding}},
		{"binding with bad exchange", q(func(q *route.Queue) {
			q.Bindings = []route.Binding{route.Bind(route.Exchange{Name: "x", Kind: "nope"}, "q")}
		}), []error{route.ErrInvalidQueue, route.ErrInvalidBinding, route.ErrInvalidExchange, route.ErrUnknownKind}},
		{"binding with several problems", q(func(q *route.Queue) {
			q.Bindings = []route.Binding{route.Bind(route.Exchange{Kind: "nope", DeliveryMode: 4}, strings.Repeat("k", 256))}
		}), []error{route.ErrInvalidQueue, route.ErrInvalidBinding, route.ErrInvalidExchange, route.ErrInvalidDeliveryMode}},
		{"binding key too long", q(func(q *route.Queue) {
			q.Bindings = []route.Binding{route.Bind(topic, strings.Repeat("k", 256))}
		}), []error{route.ErrInvalidQueue, route.ErrInvalidBinding}},
		{"binding with bad x-match", q(func(q *route.Queue) {
			q.Bindings = []route.Binding{{Exchange: headers, Arguments: route.Table{"x-match": "most"}}}
		}), []error{route.ErrInvalidQueue, route.ErrInvalidBinding, route.ErrInvalidMatch}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkInvalid(t, tt.q.Validate(), tt.wantIs, `route: invalid queue "`)
		})
	}
}

// fullQueue sets every field of a Queue to a valid non-zero value.
func fullQueue() route.Queue {
	return route.Queue{
		Name: "full", Durable: true, Passive: true, NoDeclare: true,
		MessageTTL: 1500 * time.Millisecond, Expires: time.Hour,
		MaxLength: 1000, MaxLengthBytes: 1 << 20, MaxPriority: 9,
		DeadLetterExchange: "dlx", DeadLetterRoutingKey: "dead",
		Overflow: route.OverflowRejectPublish, Type: route.QueueClassic,
		Arguments: route.Table{"x-single-active-consumer": true, "x-queue-mode": "lazy"},
		Bindings: []route.Binding{
			route.Bind(route.NewExchange("t", route.Topic), "a.*"),
			{Exchange: route.NewExchange("h", route.Headers), Arguments: route.Table{"x-match": "any", "k": int64(1)}},
		},
	}
}

func TestDeclareArguments(t *testing.T) {
	q := fullQueue()
	got := q.DeclareArguments()
	want := route.Table{
		"x-message-ttl":             int64(1500),
		"x-expires":                 int64(3600000),
		"x-max-length":              int64(1000),
		"x-max-length-bytes":        int64(1 << 20),
		"x-max-priority":            int64(9),
		"x-dead-letter-exchange":    "dlx",
		"x-dead-letter-routing-key": "dead",
		"x-overflow":                "reject-publish",
		"x-queue-type":              "classic",
		"x-single-active-consumer":  true,
		"x-queue-mode":              "lazy",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DeclareArguments() =\n%#v\nwant\n%#v", got, want)
	}
	// The result is the caller's: changing it leaves q alone.
	got["x-queue-mode"] = "changed"
	if q.Arguments["x-queue-mode"] != "lazy" {
		t.Error("changing DeclareArguments' result changed q.Arguments")
	}

	if got := route.NewQueue("q").DeclareArguments(); got != nil {
		t.Errorf("DeclareArguments() of a plain queue = %v, want nil", got)
	}
	// A field wins over a conflicting argument.
	c := route.Queue{MaxLength: 5, Arguments: route.Table{"x-max-length": 7}}
	if got := c.DeclareArguments()["x-max-length"]; got != int64(5) {
		t.Errorf("x-max-length = %v, want the field's 5", got)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   route.Queue
		want route.Queue
	}{
		{"ints of every type", route.Queue{Arguments: route.Table{
			"x-message-ttl":      int32(1500),
			"x-expires":          uint16(60000),
			"x-max-length":       json.Number("10"),
			"x-max-length-bytes": 2048.0,
			"x-max-priority":     int8(5),
			"other":              "kept",
		}}, route.Queue{
			MessageTTL: 1500 * time.Millisecond, Expires: time.Minute, MaxLength: 10,
			MaxLengthBytes: 2048, MaxPriority: 5, Arguments: route.Table{"other": "kept"},
		}},
		{"strings", route.Queue{Arguments: route.Table{
			"x-dead-letter-exchange":    "dlx",
			"x-dead-letter-routing-key": []byte("dead"),
			"x-overflow":                "reject-publish-dlx",
			"x-queue-type":              "quorum",
		}, Durable: true}, route.Queue{
			DeadLetterExchange: "dlx", DeadLetterRoutingKey: "dead",
			Overflow: route.OverflowRejectPublishDLX, Type: route.QueueQuorum, Durable: true,
		}},
		{"zero values stay arguments", route.Queue{Arguments: route.Table{
			"x-message-ttl": 0, "x-max-length": int64(0), "x-dead-letter-exchange": "",
		}}, route.Queue{Arguments: route.Table{
			"x-message-ttl": 0, "x-max-length": int64(0), "x-dead-letter-exchange": "",
		}}},
		{"argument equal to field goes", route.Queue{MaxPriority: 3, Arguments: route.Table{"x-max-priority": 3}},
			route.Queue{MaxPriority: 3}},
		{"exclusive implies auto-delete", route.Queue{Exclusive: true},
			route.Queue{Exclusive: true, AutoDelete: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.in.Clone()
			got, err := tt.in.Normalize()
			if err != nil {
				t.Fatalf("Normalize(): %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Normalize() =\n%#v\nwant\n%#v", got, tt.want)
			}
			if !reflect.DeepEqual(tt.in, before) {
				t.Errorf("Normalize changed its receiver: %#v", tt.in)
			}
		})
	}
}

func TestNormalizeErrors(t *testing.T) {
	tests := []struct {
		name   string
		q      route.Queue
		wantIs error
	}{
		{"bad type", route.Queue{Arguments: route.Table{"x-max-length": "ten"}}, route.ErrInvalidArgument},
		{"negative", route.Queue{Arguments: route.Table{"x-max-length-bytes": -1}}, route.ErrInvalidArgument},
		{"overflowing ttl", route.Queue{Arguments: route.Table{"x-message-ttl": int64(1) << 62}}, route.ErrInvalidArgument},
		{"huge unsigned", route.Queue{Arguments: route.Table{"x-max-length": uint64(1) << 63}}, route.ErrInvalidArgument},
		{"conflict", route.Queue{Overflow: route.OverflowDropHead, Arguments: route.Table{"x-overflow": "reject-publish"}},
			route.ErrArgumentConflict},
		{"invalid result", route.Queue{MaxLength: -1}, route.ErrInvalidQueue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.q.Normalize()
			if !errors.Is(err, tt.wantIs) || !errors.Is(err, route.ErrInvalidQueue) {
				t.Fatalf("Normalize() error = %v, want %v and ErrInvalidQueue", err, tt.wantIs)
			}
			if !reflect.DeepEqual(got, tt.q) {
				t.Errorf("Normalize() on error returned %#v, want its receiver", got)
			}
		})
	}
}

// Fields → DeclareArguments → Normalize gives the fields back.
func TestDeclareArgumentsNormalizeRoundTrip(t *testing.T) {
	q := fullQueue()
	q.Arguments = nil
	fromArgs := route.Queue{
		Name: q.Name, Durable: q.Durable, Passive: q.Passive, NoDeclare: q.NoDeclare,
		Bindings: q.Bindings, Arguments: q.DeclareArguments(),
	}
	got, err := fromArgs.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, q) {
		t.Errorf("round trip =\n%#v\nwant\n%#v", got, q)
	}
	if got.Key() != fromArgs.Key() || q.Key() != fromArgs.Key() {
		t.Error("the field form and the argument form of one queue have different keys")
	}
}

func TestQueueKey(t *testing.T) {
	base := fullQueue()
	if base.Key() != fullQueue().Key() {
		t.Fatal("equal queues have different keys")
	}
	changed := eachFieldChanged(t, base, func(field string) any {
		switch field {
		case "MessageTTL", "Expires":
			return 2 * time.Hour
		case "Arguments":
			return route.Table{"x-queue-mode": "default"}
		case "Bindings":
			return []route.Binding{route.Bind(route.NewExchange("t", route.Topic), "b.*")}
		}
		t.Fatalf("no other value for field %s", field)
		return nil
	})
	for field, q := range changed {
		if q.Key() == base.Key() {
			t.Errorf("changing %s does not change Key()", field)
		}
	}
	if !strings.HasPrefix(base.Key(), "Q") || !strings.HasPrefix(base.Bindings[0].Exchange.Key(), "E") {
		t.Error("queue and exchange keys share a namespace")
	}
}

func TestQueueCanCache(t *testing.T) {
	tests := []struct {
		q    route.Queue
		want bool
	}{
		{route.NewQueue("q"), true},
		{route.Queue{Name: "q", AutoDelete: true}, false},
		{route.Queue{Name: "q", Exclusive: true}, false},
		{route.Queue{Name: "q", Expires: time.Minute}, false},
		{route.Queue{Name: "q", Arguments: route.Table{"x-expires": 60000}}, false},
		{route.Queue{Name: "q", MessageTTL: time.Minute}, true},
	}
	for _, tt := range tests {
		if got := tt.q.CanCache(); got != tt.want {
			t.Errorf("%+v.CanCache() = %v, want %v", tt.q, got, tt.want)
		}
	}
	if !route.NewQueue("q").ShouldDeclare() || (route.Queue{NoDeclare: true}).ShouldDeclare() {
		t.Error("ShouldDeclare does not follow NoDeclare")
	}
}

func TestQueueClone(t *testing.T) {
	q := fullQueue()
	c := q.Clone()
	c.Arguments["x-queue-mode"] = "changed"
	c.Bindings[0].RoutingKey = "changed"
	c.Bindings[1].Arguments["k"] = "changed"
	if !reflect.DeepEqual(q, fullQueue()) {
		t.Error("changing a clone changed the original")
	}
}
