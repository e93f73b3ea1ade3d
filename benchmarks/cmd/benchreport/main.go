// Command benchreport runs the benchmark matrix of package benchmarks
// once (kelp, the raw clients and the peers, on memory, RabbitMQ and
// Redis, one run at a time) and writes BENCHMARKS.md with its tables and
// SVG charts, and the raw results as JSON. With -from it only renders a
// saved JSON file again.
//
//	cd benchmarks && go run ./cmd/benchreport
//
// A broker that cannot be reached is left out of the report, with a
// warning. Progress goes to stderr, one line per run.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/kelpmq/kelp/benchmarks"
)

func main() {
	amqpURL := flag.String("amqp", "amqp://guest:guest@127.0.0.1:5672/", "RabbitMQ `URL` (\"\" leaves AMQP out)")
	redisURL := flag.String("redis", "redis://127.0.0.1:6379/9", "Redis `URL`, a database of its own (\"\" leaves Redis out)")
	scale := flag.Float64("scale", 1, "multiply every message count by `f`")
	out := flag.String("out", "../BENCHMARKS.md", "write the report to `file`")
	charts := flag.String("charts", "charts", "write the SVG charts to `dir` (relative to -out's directory when not absolute)")
	jsonOut := flag.String("json", "results.json", "save the results to `file`")
	from := flag.String("from", "", "render the saved results `file` instead of running")
	shared := flag.Bool("shared", false, "say in the report that other work ran on the machine during the run")
	notes := flag.String("notes", "notes.md", "append the hand-written analysis in `file` (profiles, targets missed) when it exists")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *amqpURL, *redisURL, *scale, *out, *charts, *jsonOut, *from, *notes, *shared); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, amqpURL, redisURL string, scale float64, out, charts, jsonOut, from, notes string, shared bool) error {
	var rep benchmarks.Report
	if from != "" {
		data, err := os.ReadFile(from)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(data, &rep); err != nil {
			return fmt.Errorf("%s: %w", from, err)
		}
	} else {
		rep = measure(ctx, amqpURL, redisURL, scale, shared)
		data, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(jsonOut), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(jsonOut, data, 0o644); err != nil {
			return err
		}
	}
	chartDir := charts
	if !filepath.IsAbs(chartDir) {
		chartDir = filepath.Join(filepath.Dir(out), "benchmarks", charts)
	}
	names, err := benchmarks.WriteCharts(chartDir, rep.Results)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(out), chartDir)
	if err != nil {
		return err
	}
	for i, n := range names {
		names[i] = filepath.ToSlash(filepath.Join(rel, n))
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := benchmarks.WriteMarkdown(f, rep, names); err != nil {
		f.Close()
		return err
	}
	if text, err := os.ReadFile(notes); err == nil {
		if _, err := fmt.Fprintf(f, "\n%s", text); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// measure runs the matrix and describes the environment.
func measure(ctx context.Context, amqpURL, redisURL string, scale float64, shared bool) benchmarks.Report {
	env := benchmarks.Env{
		Date:     time.Now().UTC().Format("2006-01-02 15:04 MST"),
		Command:  "cd benchmarks && go run ./cmd/benchreport" + scaleFlag(scale),
		Machine:  machine(),
		Shared:   shared,
		Versions: versions(ctx, amqpURL, redisURL),
	}
	var brokers []benchmarks.Broker
	for _, b := range benchmarks.Brokers(amqpURL, redisURL, scale) {
		if err := b.Reachable(ctx, 5*time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "benchreport: leaving out", b.Transport+":", err)
			continue
		}
		brokers = append(brokers, b)
	}
	load := loadavg()
	start := time.Now()
	rs := benchmarks.RunAll(ctx, brokers, func(r benchmarks.Result) {
		fmt.Fprintf(os.Stderr, "%-7s %-15s %-48s %10.0f msg/s %s\n", r.Transport, r.Impl, r.Key(), r.MsgPerSec, r.Err)
	})
	env.Duration = time.Since(start)
	env.Load = load + " → " + loadavg()
	return benchmarks.Report{Env: env, Results: rs}
}

func scaleFlag(scale float64) string {
	if scale == 1 {
		return ""
	}
	return fmt.Sprintf(" -scale %g", scale)
}

// machine describes the CPU and memory.
func machine() string {
	model := runtime.GOARCH
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	return fmt.Sprintf("%s, %d cores, %s/%s", model, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
}

// loadavg returns the load averages, or "?".
func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// versions names Go, the brokers and the client libraries.
func versions(ctx context.Context, amqpURL, redisURL string) map[string]string {
	v := map[string]string{"Go": runtime.Version()}
	if k := benchmarks.KombuVersion(ctx); k != "" {
		v["Python Kombu ("+benchmarks.Python+")"] = k
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/rabbitmq/amqp091-go", "github.com/redis/go-redis/v9",
				"github.com/ThreeDotsLabs/watermill", "github.com/ThreeDotsLabs/watermill-amqp/v3":
				v[d.Path] = d.Version
			}
		}
	}
	if amqpURL != "" {
		if c, err := amqp091.Dial(amqpURL); err == nil {
			v["RabbitMQ"] = fmt.Sprint(c.Properties["version"])
			c.Close()
		}
	}
	if redisURL != "" {
		if opts, err := redis.ParseURL(redisURL); err == nil {
			rc := redis.NewClient(opts)
			if info, err := rc.Info(ctx, "server").Result(); err == nil {
				for line := range strings.Lines(info) {
					if ver, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
						v["Redis"] = ver
					}
				}
			}
			rc.Close()
		}
	}
	return v
}
