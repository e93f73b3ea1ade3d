package mux_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kelpmq/kelp/mux"
)

// Next waits for the next item from any source, bounded by a context: here
// one item is ready, and the second wait ends with the timeout.
func ExampleMux_Next() {
	m := mux.New[string](0)
	defer m.Stop()

	orders := make(chan string, 1)
	orders <- "order #1"
	if _, err := m.Add(orders); err != nil {
		fmt.Println(err)
		return
	}

	for range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		v, err := m.Next(ctx)
		cancel()
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			fmt.Println("nothing within 100ms")
		case err != nil:
			fmt.Println(err)
		default:
			fmt.Println("got", v)
		}
	}
	// Output:
	// got order #1
	// nothing within 100ms
}

// All ranges over the items of every source. After Close it stops once
// every source has been closed and drained.
func ExampleMux_All() {
	m := mux.New[string](4)

	for _, queue := range []string{"emails", "invoices"} {
		src := make(chan string, 2)
		src <- queue + "/1"
		src <- queue + "/2"
		close(src)
		if _, err := m.Add(src); err != nil {
			fmt.Println(err)
			return
		}
	}
	m.Close() // no more sources: All ends when these two are drained

	var got []string
	for v, err := range m.All(context.Background()) {
		if err != nil {
			fmt.Println(err)
			return
		}
		got = append(got, v)
	}
	slices.Sort(got) // sources interleave; each keeps its own order
	fmt.Println(got)
	// Output:
	// [emails/1 emails/2 invoices/1 invoices/2]
}

// OnAbandon receives the items the mux took from a source but could not
// deliver because it was stopped, so that nothing is lost: a consumer
// would requeue them.
func ExampleOnAbandon() {
	requeued := 0
	m := mux.New(1, mux.OnAbandon(func(string) { requeued++ }))

	src := make(chan string, 5)
	for i := range 5 {
		src <- fmt.Sprint("job ", i)
	}
	if _, err := m.Add(src); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(<-m.C())
	m.Stop() // nobody receives any more

	// How many items the mux had taken when Stop came depends on timing;
	// the total never changes.
	fmt.Println("received 1, requeued + still in the source:", requeued+len(src))
	// Output:
	// job 0
	// received 1, requeued + still in the source: 4
}
