package amqp

import (
	"testing"
)

// The tracker merges only acks that are, in order, the oldest unsettled
// tags, never one that would ack a delivery the batch does not settle.
func TestAckTrackerMerge(t *testing.T) {
	ack := func(tag uint64) settleArgs { return settleArgs{tag: tag, ack: true} }
	tests := []struct {
		name     string
		on       bool
		tags     []uint64
		batch    []settleArgs
		wantUpTo uint64
		wantLeft []uint64
	}{
		{"burst of the oldest", true, []uint64{1, 2, 3, 4}, []settleArgs{ack(1), ack(2), ack(3)}, 3, []uint64{4}},
		{"out of order", true, []uint64{1, 2, 3}, []settleArgs{ack(3), ack(1), ack(2)}, 3, nil},
		{"lone ack", true, []uint64{1, 2}, []settleArgs{ack(1)}, 0, []uint64{2}},
		{"gap: 2 is not acked", true, []uint64{1, 2, 3, 4}, []settleArgs{ack(1), ack(3), ack(4)}, 0, []uint64{2}},
		{"oldest not in the batch", true, []uint64{1, 2, 3}, []settleArgs{ack(2), ack(3)}, 0, []uint64{1}},
		{"a reject stops the merge", true, []uint64{1, 2, 3, 4},
			[]settleArgs{ack(1), ack(2), {tag: 3, requeue: true}, ack(4)}, 2, nil},
		{"explicit multiple", true, []uint64{1, 2, 3, 4, 5}, []settleArgs{{tag: 3, ack: true, multiple: true}, ack(5)}, 0, []uint64{4}},
		{"duplicate", true, []uint64{5, 6}, []settleArgs{ack(5), ack(5)}, 0, []uint64{6}},
		{"off", false, []uint64{1, 2}, []settleArgs{ack(1), ack(2)}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr ackTracker
			if tt.on {
				tr.enable()
			} else {
				tr.disable()
			}
			for _, tag := range tt.tags {
				tr.add(tag)
			}
			if got := tr.merge(tt.batch); got != tt.wantUpTo {
				t.Errorf("merge = %d, want %d", got, tt.wantUpTo)
			}
			if len(tr.tags) != len(tt.wantLeft) {
				t.Fatalf("left %v, want %v", tr.tags, tt.wantLeft)
			}
			for i := range tr.tags {
				if tr.tags[i] != tt.wantLeft[i] {
					t.Fatalf("left %v, want %v", tr.tags, tt.wantLeft)
				}
			}
		})
	}
}

// A tracker disabled once stays off: a later enable (another consumer)
// does not bring it back.
func TestAckTrackerOffForGood(t *testing.T) {
	var tr ackTracker
	tr.enable()
	tr.disable()
	tr.enable()
	tr.add(1)
	tr.add(2)
	if got := tr.merge([]settleArgs{{tag: 1, ack: true}, {tag: 2, ack: true}}); got != 0 {
		t.Fatalf("merge = %d after disable, want 0", got)
	}
}

// The tracker reuses its array once every tag is settled.
func TestAckTrackerReusesArray(t *testing.T) {
	var tr ackTracker
	tr.enable()
	batch := make([]settleArgs, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		batch = batch[:0]
		for tag := uint64(1); tag <= 64; tag++ {
			tr.add(tag)
			batch = append(batch, settleArgs{tag: tag, ack: true})
		}
		if tr.merge(batch) != 64 {
			t.Fatal("not merged")
		}
	})
	if allocs > 0 {
		t.Fatalf("%v allocations per round", allocs)
	}
}
