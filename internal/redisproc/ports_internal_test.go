package redisproc

import (
	"net"
	"strconv"
	"testing"
)

// TestStartTakesNewPortWhenTaken proves that a first start whose port
// another process took in the meantime retries on a new port.
func TestStartTakesNewPortWhenTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	s := newServer(t, Options{}, nil)
	s.port = taken
	for i := range s.args {
		if s.args[i] == "--port" {
			s.args[i+1] = strconv.Itoa(taken)
		}
	}
	s.Start()
	if s.Port() == taken {
		t.Fatalf("the server claims the taken port %d", taken)
	}
	c := s.Client()
	defer c.Close()
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
}
