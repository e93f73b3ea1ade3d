package mux

import (
	"slices"
	"testing"
)

// TestFIFO checks the ring against a slice model through pushes, pops
// and removals that wrap around and grow it.
func TestFIFO(t *testing.T) {
	var q fifo[int]
	var model []int
	check := func(step string) {
		t.Helper()
		got := make([]int, q.len())
		for i := range got {
			got[i] = q.at(i)
		}
		if !slices.Equal(got, model) {
			t.Fatalf("after %s: ring holds %v, want %v", step, got, model)
		}
	}
	next := 0
	for round := range 50 {
		for range round%7 + 1 {
			q.push(next)
			model = append(model, next)
			next++
		}
		check("push")
		for range round % 5 {
			e, ok := q.pop()
			if len(model) == 0 {
				if ok {
					t.Fatalf("pop of empty ring returned %d", e)
				}
				continue
			}
			if !ok || e != model[0] {
				t.Fatalf("pop = %d, %v; want %d, true", e, ok, model[0])
			}
			model = model[1:]
		}
		check("pop")
		if len(model) > 0 {
			victim := model[round%len(model)]
			if !q.remove(victim) {
				t.Fatalf("remove(%d) = false, want true", victim)
			}
			model = slices.DeleteFunc(model, func(e int) bool { return e == victim })
		}
		if q.remove(-1) {
			t.Fatal("remove of an absent element returned true")
		}
		check("remove")
	}
	for len(model) > 0 {
		e, _ := q.pop()
		if e != model[0] {
			t.Fatalf("pop = %d, want %d", e, model[0])
		}
		model = model[1:]
	}
	if _, ok := q.pop(); ok || q.len() != 0 {
		t.Fatal("ring not empty at the end")
	}
	for _, e := range q.buf {
		if e != 0 {
			t.Fatalf("ring still references %d after being emptied", e)
		}
	}
}
