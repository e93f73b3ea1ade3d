package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/kelpmq/kelp/route"
)

// errHelp reports that a command printed its help because -h was given.
var errHelp = errors.New("help requested")

// flagSet is a subcommand's flag.FlagSet plus the text its help shows.
type flagSet struct {
	*flag.FlagSet
	e        *env
	synopsis string // "kelp publish [flags] BODY"
	about    string // what the command does, a paragraph or two
}

// newFlagSet returns an empty flag set for the named command. Parse errors
// never print anything by themselves: they come back as *usageError.
func newFlagSet(e *env, name, synopsis, about string) *flagSet {
	fs := flag.NewFlagSet("kelp "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, e: e, synopsis: synopsis, about: about}
}

// parse parses args, allowing flags after positional arguments (as in
// "kelp publish BODY --count 3"); "--" ends the flags. It returns the
// positional arguments. -h prints the help on stdout and returns errHelp.
func (fs *flagSet) parse(args []string) ([]string, error) {
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.printHelp()
			return nil, errHelp
		}
		if err != nil {
			return nil, &usageError{msg: err.Error()}
		}
		rest := fs.Args()
		if stop := len(args) - len(rest); stop > 0 && args[stop-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// printHelp writes the command's synopsis, description and flags to stdout.
func (fs *flagSet) printHelp() {
	w := fs.e.stdout
	fmt.Fprintf(w, "Usage: %s\n\n%s\n\nFlags:\n", fs.synopsis, fs.about)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// headerFlag collects repeated --header k=v flags.
type headerFlag route.Table

// String implements flag.Value.
func (h headerFlag) String() string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = fmt.Sprintf("%s=%v", k, h[k])
	}
	return strings.Join(keys, ",")
}

// Set implements flag.Value.
func (h headerFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	h[k] = v
	return nil
}

// lockedWriter serializes writes to w: the connection's logger and the
// command may write to stderr at the same time.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Write implements io.Writer.
func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
