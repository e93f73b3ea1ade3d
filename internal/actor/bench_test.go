package actor_test

import (
	"context"
	"testing"

	"github.com/kelpmq/kelp/internal/actor"
)

func BenchmarkCall(b *testing.B) {
	ctx := context.Background()
	timeoutCtx, cancel := context.WithTimeout(ctx, 1<<40)
	defer cancel()
	for _, bc := range []struct {
		name string
		ctx  context.Context
	}{
		{"background", ctx},
		{"deadline", timeoutCtx},
	} {
		b.Run(bc.name, func(b *testing.B) {
			a := serve(b, actor.New(0))
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				if _, err := actor.Call(bc.ctx, a, func() (int, error) { n++; return n, nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("parallel", func(b *testing.B) {
		a := serve(b, actor.New(0))
		n := 0
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := actor.Call(ctx, a, func() (int, error) { n++; return n, nil }); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkDo(b *testing.B) {
	ctx := context.Background()
	a := serve(b, actor.New(0))
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Do(ctx, func() { n++ }); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTell(b *testing.B) {
	a := serve(b, actor.New(0))
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		for !a.Tell(func() { n++ }) {
			// Full: wait for the actor to catch up.
			if err := a.Do(context.Background(), func() {}); err != nil {
				b.Fatal(err)
			}
		}
	}
}
