package transporttest

import (
	"context"
	"slices"
	"testing"
	"time"
)

func atLeast(n int) func([]int, bool) bool {
	return func(items []int, _ bool) bool { return len(items) >= n }
}

func TestCollector(t *testing.T) {
	src := make(chan int)
	c := collect(src)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go func() {
		for i := range 3 {
			src <- i
		}
		close(src)
	}()
	if items, ok := c.wait(ctx.Done(), atLeast(2)); !ok || len(items) < 2 {
		t.Fatalf("wait for 2 = %v, %v", items, ok)
	}
	items, ok := c.wait(ctx.Done(), func(_ []int, closed bool) bool { return closed })
	if !ok || !slices.Equal(items, []int{0, 1, 2}) {
		t.Fatalf("wait for close = %v, %v; want [0 1 2] in order", items, ok)
	}
	if items, ok := c.wait(ctx.Done(), atLeast(4)); ok || len(items) != 3 {
		t.Fatalf("wait for 4 on a closed source = %v, %v; want 3 items, false without waiting", items, ok)
	}
}

func TestCollectorWaitStops(t *testing.T) {
	src := make(chan int)
	c := collect(src)
	defer close(src)
	stop := make(chan struct{})
	close(stop)
	if items, ok := c.wait(stop, atLeast(1)); ok || len(items) != 0 {
		t.Fatalf("wait with a closed stop = %v, %v; want nothing, false", items, ok)
	}
}
