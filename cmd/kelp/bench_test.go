package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// summaryLine matches one rate line of the bench summary.
var summaryLine = regexp.MustCompile(`(?m)^(publish|consume): (\d+) messages in \S+, (\d+) msg/s$`)

// benchCounts returns the message counts of bench's summary, by line.
func benchCounts(t *testing.T, out string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, m := range summaryLine.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[2])
		counts[m[1]] = n
		if r, _ := strconv.Atoi(m[3]); n > 0 && r <= 0 {
			t.Errorf("%s: rate %s for %d messages", m[1], m[3], n)
		}
	}
	return counts
}

// TestBench runs "kelp bench" briefly on each reachable broker, with
// confirms on and off, several publishers and consumers, and checks that
// every message was published and acked and the summary is complete.
func TestBench(t *testing.T) {
	brokers := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"memory", func(t *testing.T) string { u, _ := memBroker(t); return u }},
		{"amqp", amqpURL},
	}
	runs := []struct {
		name string
		args []string
		want map[string]int
	}{
		{"one each", []string{"--messages", "300", "--size", "16"}, map[string]int{"publish": 300, "consume": 300}},
		{"confirms", []string{"--messages", "400", "--publishers", "4", "--consumers", "2", "--confirm", "--prefetch", "10"},
			map[string]int{"publish": 400, "consume": 400}},
		{"publish only", []string{"--messages", "50", "--consumers", "0", "--size", "0"}, map[string]int{"publish": 50}},
	}
	for _, br := range brokers {
		t.Run(br.name, func(t *testing.T) {
			url := br.url(t)
			for _, run := range runs {
				t.Run(run.name, func(t *testing.T) {
					r := kelp(t, "", append([]string{"bench", "--url", url}, run.args...)...)
					r.wantOK(t)
					got := benchCounts(t, r.stdout)
					for k, n := range run.want {
						if got[k] != n {
							t.Errorf("%s count %d, want %d; stdout:\n%s", k, got[k], n, r.stdout)
						}
					}
					_, consumed := run.want["consume"]
					if got := strings.Contains(r.stdout, "\nlatency: p50 "); got != consumed {
						t.Errorf("latency line present = %v, want %v; stdout:\n%s", got, consumed, r.stdout)
					}
					if !strings.HasSuffix(r.stdout, "errors: 0\n") {
						t.Errorf("summary does not end with errors: 0:\n%s", r.stdout)
					}
					if strings.Contains(r.stdout, "\r") {
						t.Errorf("not a terminal, but the output redraws a bar:\n%q", r.stdout)
					}
				})
			}
		})
	}
}

// TestBenchDefaultURL checks that bench runs on memory:// without --url
// or KELP_URL, and that --duration bounds a run that could not finish.
func TestBenchDefaultURL(t *testing.T) {
	t.Setenv(envURL, "")
	r := kelp(t, "", "bench", "--messages", "100", "--size", "8")
	r.wantOK(t)
	if !strings.HasPrefix(r.stdout, "kelp bench: memory://,") {
		t.Errorf("summary does not name memory://:\n%s", r.stdout)
	}

	// Consuming a queue that never gets enough messages ends at --duration.
	url, _ := memBroker(t)
	start := time.Now()
	r = kelp(t, "", "bench", "--url", url, "--queue", "empty", "--publishers", "0", "--messages", "5", "--duration", "50ms")
	r.wantOK(t)
	if got := benchCounts(t, r.stdout)["consume"]; got != 0 {
		t.Errorf("consumed %d from an empty queue", got)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("--duration 50ms run took %v", d)
	}
}

// TestBenchUsage checks that bad flags fail before anything is dialed.
func TestBenchUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--messages", "0"}, "--messages must be at least 1"},
		{[]string{"--size", "-1"}, "--size must not be negative"},
		{[]string{"--publishers", "-1"}, "must not be negative"},
		{[]string{"--publishers", "0", "--consumers", "0"}, "nothing to do"},
		{[]string{"--publishers", "0"}, "needs --queue"},
		{[]string{"--prefetch", "0"}, "--prefetch must be at least 1"},
		{[]string{"--duration", "-1s"}, "--duration must not be negative"},
		{[]string{"extra"}, "bench takes no arguments"},
		{[]string{"--url", "nope://x"}, "nope"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			kelp(t, "", append([]string{"bench"}, tt.args...)...).wantFailure(t, exitUsage, tt.want)
		})
	}
}
