package redisproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Bounds of the waits.
const (
	// StartTimeout bounds how long a process has to answer PING (and a
	// cluster to become ok, or a replica to finish its first sync).
	StartTimeout = 15 * time.Second
	// StopTimeout bounds how long a process has to exit after SIGTERM
	// before it is killed and the test fails.
	StopTimeout = 10 * time.Second
)

// EnvCI, set to "1", turns the skip for a missing redis-server into a
// failure.
const EnvCI = "KELP_CI"

// Options configures a server of [Start].
type Options struct {
	// AppendOnly turns on the append-only file (appendonly yes), so that
	// data survives [Server.Stop], [Server.Kill] and [Server.Start].
	// Without it the server keeps nothing across a restart.
	AppendOnly bool
	// AppendFsync is the appendfsync policy when AppendOnly is set:
	// "always" (the default: a write the server replied to is on disk),
	// "everysec" or "no". A SIGKILL loses nothing with any of them once
	// Redis has written the file; "always" also survives a machine crash.
	AppendFsync string
	// Password, when not empty, is required of clients (requirepass).
	Password string
	// Args are extra redis-server arguments, as "--name", "value" pairs.
	Args []string
}

// Server is one private redis-server process. Its methods are safe for
// concurrent use.
type Server struct {
	t    testing.TB
	port int
	dir  string
	// args are the arguments after the binary (or the config file).
	args     []string
	sentinel bool
	password string

	mu   sync.Mutex
	proc *process // nil while stopped
	// started is set once the server answered: from then on its ports
	// are its own and never change.
	started bool
}

// process is one run of the server: the command and a channel closed
// when it has exited.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// binary returns the path of redis-server, skipping (or under KELP_CI=1
// failing) the test when there is none.
func binary(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("redis-server")
	if err != nil {
		msg := fmt.Sprintf("redisproc: redis-server not installed (%v); install the redis-server package", err)
		if os.Getenv(EnvCI) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// handedOut holds the ports FreePort returned, so that it never returns
// one twice in a process: the kernel may offer a port again once its
// probe listener is closed, before the server meant to use it binds it.
var handedOut sync.Map // int -> struct{}

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on now
// and that FreePort has not returned before in this process. Another
// process may take it before it is used; the ports the kernel hands out
// are spread widely enough that tests do not collide in practice.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("redisproc: finding a free port: %v", err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if _, dup := handedOut.LoadOrStore(p, struct{}{}); !dup {
			return p
		}
	}
	t.Fatal("redisproc: no free port that was not handed out already")
	return 0
}

// Start starts a redis-server on a free loopback port and returns once it
// answers PING. The test fails when it does not within [StartTimeout].
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := newServer(t, opts, nil)
	s.Start()
	return s
}

// newServer prepares a Server with its port, directory and arguments;
// extra are added before opts.Args.
func newServer(t testing.TB, opts Options, extra []string) *Server {
	t.Helper()
	binary(t)
	s := &Server{t: t, port: FreePort(t), dir: t.TempDir(), password: opts.Password}
	aof := "no"
	if opts.AppendOnly {
		aof = "yes"
	}
	fsync := opts.AppendFsync
	if fsync == "" {
		fsync = "always"
	}
	s.args = []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--logfile", filepath.Join(s.dir, "redis.log"),
		"--save", "",
		"--appendonly", aof,
		"--appendfsync", fsync,
		"--daemonize", "no",
	}
	if opts.Password != "" {
		s.args = append(s.args, "--requirepass", opts.Password, "--masterauth", opts.Password)
	}
	s.args = append(s.args, extra...)
	s.args = append(s.args, opts.Args...)
	t.Cleanup(s.cleanup)
	return s
}

// Port returns the server's TCP port, the same across restarts.
func (s *Server) Port() int { return s.port }

// Addr returns "127.0.0.1:<port>".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL returns "redis://[:password@]127.0.0.1:<port>".
func (s *Server) URL() string {
	if s.password != "" {
		return "redis://:" + s.password + "@" + s.Addr()
	}
	return "redis://" + s.Addr()
}

// Dir returns the server's working directory (its append-only file and
// log live there).
func (s *Server) Dir() string { return s.dir }

// Running reports whether the process is running (it may not answer yet).
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return false
	}
	select {
	case <-s.proc.exited:
		return false
	default:
		return true
	}
}

// Start starts the server (again, after Stop or Kill) on its port and
// returns once it answers PING. Starting a running server fails the test.
func (s *Server) Start() {
	s.t.Helper()
	err := s.start()
	// Another process can bind a port between FreePort and the server's
	// bind; before the first successful start, take new ports.
	for try := 0; errors.Is(err, errAddrInUse) && !s.started && !s.sentinel && try < 3; try++ {
		s.newPorts()
		err = s.start()
	}
	if err != nil {
		s.t.Fatalf("redisproc: %v", err)
	}
	s.started = true
}

// errAddrInUse marks a start that failed because a port was taken.
var errAddrInUse = errors.New("address already in use")

// newPorts replaces the server's listening ports (--port and, in a
// cluster, --cluster-port) with fresh ones.
func (s *Server) newPorts() {
	for i := 0; i+1 < len(s.args); i++ {
		switch s.args[i] {
		case "--port":
			s.port = FreePort(s.t)
			s.args[i+1] = strconv.Itoa(s.port)
		case "--cluster-port":
			s.args[i+1] = strconv.Itoa(FreePort(s.t))
		}
	}
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		select {
		case <-s.proc.exited:
		default:
			return fmt.Errorf("server on %s is already running", s.Addr())
		}
	}
	logStart := s.logSize()
	cmd := exec.Command(binary(s.t), s.args...)
	if s.sentinel {
		cmd.Args = append(cmd.Args, "--sentinel")
	}
	// The test binary's death takes the server with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting redis-server: %v", err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	// Owned by the process: ends when it exits (cleanup kills it).
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	s.proc = p
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	if err := s.waitPing(ctx, p); err != nil {
		_ = cmd.Process.Kill()
		<-p.exited
		if strings.Contains(s.logSince(logStart), "Address already in use") {
			err = fmt.Errorf("%w (%v)", errAddrInUse, err)
		}
		return fmt.Errorf("server on %s: %w; output %q; log:\n%s", s.Addr(), err, out.String(), s.logTail())
	}
	return nil
}

// waitPing polls PING until the server answers, exits, or ctx ends.
func (s *Server) waitPing(ctx context.Context, p *process) error {
	// Bounded by each PING's ctx: a port that accepts and never answers
	// (not the server) must not hold the loop for a read timeout.
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr(), Password: s.password, DisableIdentity: true,
		MaxRetries: -1, DialTimeout: time.Second, ContextTimeoutEnabled: true})
	defer c.Close()
	for {
		select {
		case <-p.exited:
			return fmt.Errorf("exited before answering PING (%v)", p.cmd.ProcessState)
		default:
		}
		pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		err := c.Ping(pctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("exited before answering PING (%v)", p.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("no answer to PING within %v: %v", StartTimeout, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop ends the server with SIGTERM and waits for it to exit (Redis
// writes its append-only file and closes every client). It fails the
// test when the server does not exit within [StopTimeout]. Stopping a
// stopped server does nothing.
func (s *Server) Stop() {
	s.t.Helper()
	if err := s.signal(syscall.SIGTERM, StopTimeout); err != nil {
		s.t.Fatalf("redisproc: %v", err)
	}
}

// Kill ends the server with SIGKILL, as a crash would, and waits for it
// to exit.
func (s *Server) Kill() {
	s.t.Helper()
	if err := s.signal(syscall.SIGKILL, StopTimeout); err != nil {
		s.t.Fatalf("redisproc: %v", err)
	}
}

// Pause stops the process with SIGSTOP: it keeps its port and its
// connections but answers nothing, as a hung server or a partition does,
// until [Server.Resume]. Cleanup kills a paused server too.
func (s *Server) Pause() { s.send(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() { s.send(syscall.SIGCONT) }

// send sends sig to the running process without waiting.
func (s *Server) send(sig syscall.Signal) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		s.t.Fatalf("redisproc: server on %s was never started", s.Addr())
	}
	if err := s.proc.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("redisproc: %v to %s: %v", sig, s.Addr(), err)
	}
}

// Restart is Stop then Start: the server is back on the same port with
// the same directory.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.Start()
}

// signal sends sig to the running process and waits up to d for it to
// exit; a process that does not is killed.
func (s *Server) signal(sig syscall.Signal, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc
	if p == nil {
		return nil
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
		return nil
	case <-time.After(d):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("server on %s did not exit within %v of %v; log:\n%s", s.Addr(), d, sig, s.logTail())
	}
}

// cleanup kills the process, if it runs, and waits for it.
func (s *Server) cleanup() {
	_ = s.signal(syscall.SIGKILL, StopTimeout)
}

// Client returns a go-redis client for the server (database 0), which
// the caller closes. It makes no connection until used.
func (s *Server) Client() *goredis.Client {
	return goredis.NewClient(&goredis.Options{
		Addr:            s.Addr(),
		Password:        s.password,
		DisableIdentity: true,
		MaxRetries:      -1,
		DialTimeout:     time.Second,
	})
}

// Do runs one command on the server through a short-lived client and
// returns its reply, failing the test on an error.
func (s *Server) Do(ctx context.Context, args ...any) any {
	s.t.Helper()
	c := s.Client()
	defer c.Close()
	v, err := c.Do(ctx, args...).Result()
	if err != nil && !errors.Is(err, goredis.Nil) {
		s.t.Fatalf("redisproc: %s: %v: %v", s.Addr(), args, err)
	}
	return v
}

// logSize returns the size of the server's log file (0 if none).
func (s *Server) logSize() int64 {
	fi, err := os.Stat(filepath.Join(s.dir, "redis.log"))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logSince returns the server's log from byte offset on.
func (s *Server) logSince(offset int64) string {
	b, err := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	if err != nil || int64(len(b)) < offset {
		return ""
	}
	return string(b[offset:])
}

// logTail returns the end of the server's log file.
func (s *Server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}
