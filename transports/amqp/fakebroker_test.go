package amqp_test

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
)

// fakeBroker speaks just enough AMQP 0-9-1 to let a client connect, open
// channels and close, and lets a test push connection.blocked and
// connection.unblocked at will: RabbitMQ sends those only under a resource
// alarm, which would stall every other user of a shared broker.
type fakeBroker struct {
	ln    net.Listener
	mu    sync.Mutex // serialises writes to conn
	conn  net.Conn
	ready chan struct{} // closed once a client has connected
	wg    sync.WaitGroup
}

func newFakeBroker(t *testing.T) *fakeBroker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeBroker{ln: ln, ready: make(chan struct{})}
	f.wg.Add(1)
	go f.serve()
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		if f.conn != nil {
			f.conn.Close()
		}
		f.mu.Unlock()
		f.wg.Wait()
	})
	return f
}

func (f *fakeBroker) port() int { return f.ln.Addr().(*net.TCPAddr).Port }

// method appends an AMQP method frame on channel ch.
func method(ch uint16, class, id uint16, args []byte) []byte {
	payload := binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, class), id)
	payload = append(payload, args...)
	fr := []byte{1}
	fr = binary.BigEndian.AppendUint16(fr, ch)
	fr = binary.BigEndian.AppendUint32(fr, uint32(len(payload)))
	fr = append(fr, payload...)
	return append(fr, 0xCE)
}

func shortstr(s string) []byte { return append([]byte{byte(len(s))}, s...) }
func longstr(s string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(s))), s...)
}

func (f *fakeBroker) send(frame []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conn != nil {
		f.conn.Write(frame)
	}
}

// serve handles one client: the handshake, channel.open and close.
func (f *fakeBroker) serve() {
	defer f.wg.Done()
	c, err := f.ln.Accept()
	if err != nil {
		return
	}
	f.mu.Lock()
	f.conn = c
	f.mu.Unlock()
	defer c.Close()
	r := bufio.NewReader(c)
	if _, err := io.ReadFull(r, make([]byte, 8)); err != nil { // protocol header
		return
	}
	start := append([]byte{0, 9}, 0, 0, 0, 0) // version, empty server properties
	start = append(append(start, longstr("PLAIN")...), longstr("en_US")...)
	f.send(method(0, 10, 10, start))
	for {
		ch, class, id, err := readMethod(r)
		if err != nil {
			return
		}
		switch {
		case class == 10 && id == 11: // start-ok
			tune := binary.BigEndian.AppendUint16(nil, 2047)
			tune = binary.BigEndian.AppendUint32(tune, 131072)
			tune = binary.BigEndian.AppendUint16(tune, 0)
			f.send(method(0, 10, 30, tune))
		case class == 10 && id == 40: // open
			f.send(method(0, 10, 41, shortstr("")))
			close(f.ready)
		case class == 20 && id == 10: // channel.open
			f.send(method(ch, 20, 11, longstr("")))
		case class == 10 && id == 50: // close
			f.send(method(0, 10, 51, nil))
			return
		}
	}
}

// readMethod reads frames until a method frame and returns its channel,
// class and method ids. Other frames (tune-ok is a method too; heartbeats
// are not) are skipped.
func readMethod(r *bufio.Reader) (ch, class, id uint16, err error) {
	for {
		var hdr [7]byte
		if _, err = io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		size := binary.BigEndian.Uint32(hdr[3:])
		payload := make([]byte, size+1)
		if _, err = io.ReadFull(r, payload); err != nil {
			return
		}
		if hdr[0] == 1 && size >= 4 {
			return binary.BigEndian.Uint16(hdr[1:]), binary.BigEndian.Uint16(payload), binary.BigEndian.Uint16(payload[2:]), nil
		}
	}
}

func (f *fakeBroker) block(reason string) { f.send(method(0, 10, 60, shortstr(reason))) }
func (f *fakeBroker) unblock()            { f.send(method(0, 10, 61, nil)) }
