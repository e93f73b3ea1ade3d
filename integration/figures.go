package integration

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables of the scenario matrix.
const (
	// EnvSeed replays a run of the scenario matrix: every random choice
	// (fault moments, fault parameters) derives from it. Each run prints
	// the seed it used.
	EnvSeed = "KELP_SEED"
	// EnvSoak, set to "1", makes the scenario matrix run longer streams
	// with more faults, for local soak runs outside CI.
	EnvSoak = "KELP_SOAK"
	// EnvReport names a file to which the matrix appends its figures as
	// Markdown table rows (RELIABILITY.md reports them).
	EnvReport = "KELP_REPORT"
)

// Soak reports whether KELP_SOAK=1 asks for long runs.
func Soak() bool { return os.Getenv(EnvSoak) == "1" }

// seed is the seed of this test binary's run.
var seed = sync.OnceValue(func() uint64 {
	if s := os.Getenv(EnvSeed); s != "" {
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			return n
		}
	}
	return rand.Uint64()
})

// Seed returns the seed of this run (from KELP_SEED, or random) and logs
// it on t with the way to replay it.
func Seed(t testing.TB) uint64 {
	t.Helper()
	s := seed()
	t.Logf("seed %d (replay with %s=%d)", s, EnvSeed, s)
	return s
}

// Rand returns a random source for t derived from the run's seed, t's
// name and how many times a test of that name asked before in this run
// (go test -count=n), so that a subtest draws the same values whatever
// other tests ran before it, and each repetition draws new ones.
func Rand(t testing.TB) *rand.Rand {
	var h uint64 = 14695981039346656037 // FNV-1a of the name
	for _, c := range []byte(t.Name()) {
		h = (h ^ uint64(c)) * 1099511628211
	}
	draws.mu.Lock()
	if draws.n == nil {
		draws.n = make(map[string]uint64)
	}
	rep := draws.n[t.Name()]
	draws.n[t.Name()]++
	draws.mu.Unlock()
	return rand.New(rand.NewPCG(seed()+rep, h))
}

// draws counts the calls of Rand per test name.
var draws struct {
	mu sync.Mutex
	n  map[string]uint64
}

// Figures collects what scenarios observed, for the summary a matrix run
// prints. It is safe for concurrent use; the zero value is ready.
type Figures struct {
	mu   sync.Mutex
	rows []Figure
}

// Figure is what one scenario on one transport observed.
type Figure struct {
	// Transport and Scenario name the run.
	Transport, Scenario string
	// Faults is the number of faults injected.
	Faults int
	// Result is the stream's outcome.
	Result Result
	// Recover lists, per fault that broke the connection (or blocked
	// it), the time from injecting (or lifting) it to the first message
	// acked (or confirmed) afterwards.
	Recover []time.Duration
	// MaxOverrun is the longest a probe call outlived its ctx.
	MaxOverrun time.Duration
	// HeapGrowth is the live heap's growth over the scenario, in bytes.
	HeapGrowth int64
}

// Add records a figure.
func (f *Figures) Add(fig Figure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rows = append(f.rows, fig)
}

// Summary logs one line per transport and one in total (scenarios,
// faults, messages, lost, duplicates, time to recover p50/p99), and
// appends them as Markdown table rows to the file KELP_REPORT names, if
// any.
func (f *Figures) Summary(t testing.TB, title string) {
	t.Helper()
	f.mu.Lock()
	rows := slices.Clone(f.rows)
	f.mu.Unlock()
	var transports []string
	for _, r := range rows {
		if !slices.Contains(transports, r.Transport) {
			transports = append(transports, r.Transport)
		}
	}
	var md strings.Builder
	for _, tr := range append(transports, "total") {
		var s summary
		for _, r := range rows {
			if r.Transport == tr || tr == "total" {
				s.add(r)
			}
		}
		line := s.line(tr)
		t.Logf("%s: %s", title, line)
		fmt.Fprintf(&md, "| %s | %s | %d | %d | %d | %d | %d | %d | %s | %s | %s |\n", title, tr,
			s.scenarios, s.faults, s.messages, s.confirmed, s.lost, s.dups,
			pct(s.recover, 50), pct(s.recover, 99), s.overrun)
	}
	if path := os.Getenv(EnvReport); path != "" {
		file, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			_, err = file.WriteString(md.String())
			err = errors.Join(err, file.Close())
		}
		if err != nil {
			t.Errorf("writing %s: %v", EnvReport, err)
		}
	}
}

// summary adds up figures.
type summary struct {
	scenarios, faults, messages, confirmed, lost, dups int
	recover                                            []time.Duration
	overrun                                            time.Duration
}

func (s *summary) add(r Figure) {
	s.scenarios++
	s.faults += r.Faults
	s.messages += r.Result.Messages
	s.confirmed += r.Result.Confirmed
	s.lost += len(r.Result.Lost)
	s.dups += r.Result.Duplicates
	s.recover = append(s.recover, r.Recover...)
	s.overrun = max(s.overrun, r.MaxOverrun)
}

func (s *summary) line(transport string) string {
	return fmt.Sprintf("%s: %d scenarios, %d faults, %d messages (%d confirmed), %d lost, %d duplicates; recovery p50 %s p99 %s (%d recoveries); worst probe overrun %s",
		transport, s.scenarios, s.faults, s.messages, s.confirmed, s.lost, s.dups,
		pct(s.recover, 50), pct(s.recover, 99), len(s.recover), s.overrun)
}

// pct returns the p-th percentile (nearest rank) of ds, or "-".
func pct(ds []time.Duration, p int) string {
	if len(ds) == 0 {
		return "-"
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	i := max((len(ds)*p+99)/100-1, 0)
	return ds[i].Round(time.Millisecond).String()
}
