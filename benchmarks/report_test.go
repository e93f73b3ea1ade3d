package benchmarks_test

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kelpmq/kelp/benchmarks"
)

// sample returns results for the AMQP goals: kelp at 90 and 110 % of raw.
func sample() []benchmarks.Result {
	pub := benchmarks.Workload{Scenario: benchmarks.ScenarioPublish, Size: 1024, Messages: 10, Publishers: 8, Confirm: true}
	cons := benchmarks.Workload{Scenario: benchmarks.ScenarioConsume, Size: 1024, Messages: 10, Prefetch: 100}
	lat := benchmarks.Workload{Scenario: benchmarks.ScenarioLatency, Size: 1024, Messages: 10, Rate: benchmarks.LatencyRate}
	e2e := benchmarks.Workload{Scenario: benchmarks.ScenarioEndToEnd, Size: 1024, Messages: 10, Publishers: 8}
	return []benchmarks.Result{
		{Workload: pub, Impl: "kelp", Transport: "amqp", MsgPerSec: 850},
		{Workload: pub, Impl: "amqp091", Transport: "amqp", MsgPerSec: 1000},
		{Workload: cons, Impl: "kelp", Transport: "amqp", MsgPerSec: 1100},
		{Workload: cons, Impl: "amqp091", Transport: "amqp", MsgPerSec: 1000},
		{Workload: lat, Impl: "kelp", Transport: "amqp", P50: time.Millisecond, P99: 2 * time.Millisecond, P999: 3 * time.Millisecond},
		{Workload: lat, Impl: "amqp091", Transport: "amqp", P50: time.Millisecond, P99: time.Millisecond, P999: 3 * time.Millisecond},
		{Workload: e2e, Impl: "kelp", Transport: "amqp", MsgPerSec: 500},
		{Workload: e2e, Impl: "amqp091", Transport: "amqp", Err: "boom"},
	}
}

// TestWriteMarkdown checks the targets table and the full table: ratios,
// verdicts, latency compared by p99, failures listed, no broken rows.
func TestWriteMarkdown(t *testing.T) {
	var b strings.Builder
	rep := benchmarks.Report{Env: benchmarks.Env{Command: "go run ./cmd/benchreport", Shared: true}, Results: sample()}
	if err := benchmarks.WriteMarkdown(&b, rep, []string{"benchmarks/charts/x.svg"}); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"go run ./cmd/benchreport",
		"The machine was shared",
		"| AMQP publish, confirms, 8 publishers | 850 msg/s | amqp091 1,000 msg/s | 0.85× | ≥ 0.9× | **no** |",
		"| AMQP consume + ack each (prefetch 100) | 1,100 msg/s | amqp091 1,000 msg/s | 1.10× | ≥ 1.0× | yes |",
		"| AMQP p99 latency at 5,000 msg/s | p99 2ms | amqp091 p99 1ms | 2.00× | ≤ 1.5× | **no** |",
		"| AMQP end-to-end | 500 msg/s | amqp091 not measured | | | |",
		"![x](benchmarks/charts/x.svg)",
		"- amqp amqp091 e2e publishers=8 size=1024: boom",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	// Every table row of the full table has as many cells as its header.
	var cols int
	for line := range strings.Lines(md) {
		switch {
		case strings.HasPrefix(line, "| workload |"):
			cols = strings.Count(line, "|")
		case strings.HasPrefix(line, "| publish") || strings.HasPrefix(line, "| consume") || strings.HasPrefix(line, "| e2e") || strings.HasPrefix(line, "| latency"):
			if n := strings.Count(line, "|"); n != cols {
				t.Errorf("row has %d cells, header %d: %s", n, cols, line)
			}
		}
	}
}

// TestWriteCharts checks that every chart is well-formed SVG with a bar
// per implementation and size.
func TestWriteCharts(t *testing.T) {
	dir := t.TempDir()
	names, err := benchmarks.WriteCharts(dir, sample())
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 2 { // throughput-amqp.svg, latency.svg
		t.Fatalf("charts %v, want 2", names)
	}
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			XMLName xml.Name
			Rects   []struct {
				Height float64 `xml:"height,attr"`
			} `xml:"rect"`
		}
		if err := xml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s is not XML: %v", n, err)
		}
		if doc.XMLName.Local != "svg" {
			t.Errorf("%s root is %s", n, doc.XMLName.Local)
		}
		for _, r := range doc.Rects {
			if r.Height < 0 {
				t.Errorf("%s has a bar of negative height", n)
			}
		}
	}
}
