package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes of the command.
const (
	exitOK          = 0   // the command did what was asked
	exitFailure     = 1   // a broker, network or data error, or a timeout
	exitUsage       = 2   // bad command line (as the flag package's own exit code)
	exitInterrupted = 130 // stopped by SIGINT or SIGTERM (128 + SIGINT)
)

// command is one subcommand: its name, a one-line summary for the command
// list, and its entry point.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

// commands lists the subcommands in the order the usage text shows them.
// It is filled by init because help refers back to it.
var commands []command

func init() {
	commands = []command{
		{"demo", "run the tour of kelp on the embedded memory broker", runDemo},
		{"publish", "publish messages to an exchange", runPublish},
		{"consume", "consume messages from a queue and print them", runConsume},
		{"bench", "measure publish and consume throughput and latency", runBench},
		{"help", "show help for kelp or one of its commands", runHelp},
	}
}

// env is what a subcommand may touch of the outside world. Tests run the
// command in-process with their own readers and writers.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command line args (without the program name) and returns
// the exit code. Every failure is reported as one line on stderr.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	stderr = &lockedWriter{w: stderr}
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return exitUsage
	}
	name := args[0]
	if name == "-h" || name == "-help" || name == "--help" {
		fmt.Fprint(stdout, usage())
		return exitOK
	}
	cmd, ok := lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "kelp: unknown command %q (run 'kelp help' for the list)\n", name)
		return exitUsage
	}
	err := cmd.run(ctx, e, args[1:])
	return report(stderr, "kelp "+cmd.name, err)
}

// lookup finds a subcommand by name.
func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// usage is the top-level help text.
func usage() string {
	var b strings.Builder
	b.WriteString("kelp is a command-line tool for kelp, the Go messaging framework.\n\n")
	b.WriteString("Usage:\n\n\tkelp <command> [flags] [arguments]\n\nCommands:\n\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "\t%-8s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun 'kelp help <command>' (or 'kelp <command> -h') for a command's flags.\n")
	b.WriteString("The broker URL comes from --url or, failing that, the KELP_URL environment variable.\n")
	b.WriteString(fileDefaultHelp)
	return b.String()
}

// runHelp prints the usage of kelp or of the named command.
func runHelp(ctx context.Context, e *env, args []string) error {
	switch len(args) {
	case 0:
		fmt.Fprint(e.stdout, usage())
		return nil
	case 1:
		if args[0] == "help" {
			fmt.Fprint(e.stdout, usage())
			return nil
		}
		cmd, ok := lookup(args[0])
		if !ok {
			return usageErrorf("unknown command %q", args[0])
		}
		// Each command prints its own flags when asked for help.
		return cmd.run(ctx, e, []string{"-h"})
	default:
		return usageErrorf("help takes at most one command name")
	}
}

// errInterrupted reports that the command was stopped by a signal (its ctx
// was cancelled).
var errInterrupted = errors.New("interrupted")

// usageError is a bad command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usageErrorf returns a *usageError.
func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// report writes err as one line on w, prefixed with the command's name, and
// returns the exit code for it.
func report(w io.Writer, prefix string, err error) int {
	var uerr *usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return exitOK
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	case errors.As(err, &uerr):
		fmt.Fprintf(w, "%s: %s (run '%s -h' for usage)\n", prefix, oneLine(err.Error()), prefix)
		return exitUsage
	default:
		fmt.Fprintf(w, "%s: %s\n", prefix, oneLine(err.Error()))
		return exitFailure
	}
}

// oneLine folds a multi-line error (from errors.Join) into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ; ")), " ")
}
