package route_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/kelpmq/kelp/route"
)

func ExampleQueue_DeclareArguments() {
	tasks := route.NewExchange("tasks", route.Topic)
	q := route.NewQueue("emails", route.Bind(tasks, "email.#"))
	q.MessageTTL = 30 * time.Second
	q.MaxPriority = 9
	q.Arguments = route.Table{"x-single-active-consumer": true}

	if err := q.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	args := q.DeclareArguments()
	for _, k := range slices.Sorted(maps.Keys(args)) {
		fmt.Printf("%s = %v\n", k, args[k])
	}
	// Output:
	// x-max-priority = 9
	// x-message-ttl = 30000
	// x-single-active-consumer = true
}

func ExampleQueue_Normalize() {
	// A queue as a Kombu user would write it, with RabbitMQ x-arguments.
	q := route.Queue{Name: "jobs", Durable: true, Arguments: route.Table{
		"x-message-ttl": 60000,
		"x-max-length":  int64(100),
		"x-overflow":    "reject-publish",
	}}
	n, err := q.Normalize()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(n.MessageTTL, n.MaxLength, n.Overflow, len(n.Arguments))
	// Output: 1m0s 100 reject-publish 0
}

func ExampleQueue_UnmarshalJSON() {
	var q route.Queue
	err := json.Unmarshal([]byte(`{
		"name": "reports",
		"message_ttl": 10,
		"expires": "1h",
		"bindings": [{"exchange": {"name": "events", "type": "topic"}, "routing_key": "report.*"}]
	}`), &q)
	if err != nil {
		fmt.Println(err)
		return
	}
	b := q.Bindings[0]
	fmt.Println(q.Durable, q.MessageTTL, q.Expires, b.Exchange.Kind, b.Exchange.Durable)
	// Output: true 10s 1h0m0s topic true
}

func ExampleTopicRouter() {
	r := route.NewTopicRouter()
	r.Bind("orders.*.created", nil, "new-orders")
	r.Bind("orders.#", nil, "audit")
	r.Bind("#.created", nil, "audit") // audit is routed once all the same

	dst := r.Route("orders.eu.created", nil, nil)
	slices.Sort(dst)
	fmt.Println(dst)
	fmt.Println(r.Route("orders", nil, nil))
	// Output:
	// [audit new-orders]
	// [audit]
}

func ExampleMatchTopic() {
	fmt.Println(route.MatchTopic("a.#", "a"))
	fmt.Println(route.MatchTopic("a.*", "a.b.c"))
	fmt.Println(route.MatchTopic("*.b.#", "a.b.c.d"))
	// Output:
	// true
	// false
	// true
}

func ExampleMatchHeaders() {
	args := route.Table{"x-match": "any", "format": "pdf", "type": "report"}
	ok, err := route.MatchHeaders(args, route.Table{"format": []byte("pdf")})
	fmt.Println(ok, err)
	// Output: true <nil>
}
