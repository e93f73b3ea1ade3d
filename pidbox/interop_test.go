package pidbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/kelpmq/kelp/internal/brokertest"
	"github.com/kelpmq/kelp/pidbox"
	"github.com/kelpmq/kelp/route"
)

// mailboxKinds are the mailbox exchange types the interop tests use:
// Celery's fanout (PUB/SUB on Redis) and Kombu's default, direct (lists on
// Redis).
var mailboxKinds = []route.Kind{route.Fanout, route.Direct}

// Kombu's Mailbox.multi_call reaches kelp nodes and gets their replies.
func TestInteropKombuMultiCall(t *testing.T) {
	for _, name := range brokertest.KombuBrokers {
		for _, kind := range mailboxKinds {
			t.Run(name+"/"+string(kind), func(t *testing.T) {
				interopKombuMultiCall(t, brokertest.KombuOn(t, name, brokerConfig), kind)
			})
		}
	}
}

func interopKombuMultiCall(t *testing.T, b broker, kind route.Kind) {
	url := b.URL()
	c := b.Dial(t)
	ns := namespace(t, c)
	m := newMailbox(t, c, ns, pidbox.Config{Type: kind})
	pingNodes(t, m, "kelp1", "kelp2")

	ctx, cancel := context.WithTimeout(testCtx(t), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, brokertest.Python, "testdata/kombu_multicall.py", url, ns, "2", string(kind))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kombu multi_call: %v\n%s", err, stderr.String())
	}
	var got struct {
		Ping  []map[string]map[string]any
		Fail  []map[string]map[string]any
		Clock int
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	var nodes []string
	for _, r := range got.Ping {
		for host, res := range r {
			nodes = append(nodes, host)
			if res["pong"] != host || res["x"] != 5.0 {
				t.Errorf("reply of %s: %v", host, res)
			}
		}
	}
	slices.Sort(nodes)
	if !slices.Equal(nodes, []string{"kelp1", "kelp2"}) {
		t.Errorf("multi_call replies from %v (%s)", nodes, out)
	}
	if len(got.Fail) != 1 || got.Fail[0]["kelp1"]["error"] != "kelp1 refuses" {
		t.Errorf("call fail: %v", got.Fail)
	}
	// The Python caller adjusted its clock to the nodes' replies.
	if got.Clock <= 3 || m.Clock().Value() < 2 {
		t.Errorf("clocks: python %d kelp %d", got.Clock, m.Clock().Value())
	}
}

// A kelp MultiCall reaches Kombu nodes; their errors come back as remote
// errors; a kelp Cast stops them.
func TestInteropKombuNodes(t *testing.T) {
	for _, name := range brokertest.KombuBrokers {
		for _, kind := range mailboxKinds {
			t.Run(name+"/"+string(kind), func(t *testing.T) {
				interopKombuNodes(t, brokertest.KombuOn(t, name, brokerConfig), kind)
			})
		}
	}
}

func interopKombuNodes(t *testing.T, b broker, kind route.Kind) {
	url := b.URL()
	c := b.Dial(t)
	ns := namespace(t, c)
	m := newMailbox(t, c, ns, pidbox.Config{Type: kind})

	ctx, cancel := context.WithTimeout(testCtx(t), 30*time.Second)
	defer cancel()
	py := brokertest.StartPeer(t, ctx, "testdata/kombu_nodes.py", url, ns, string(kind), "py1", "py2")

	rs, err := m.MultiCall(ctx, "ping", map[string]int{"x": 3}, 2)
	if err != nil || !slices.Equal(nodesOf(rs), []string{"py1", "py2"}) {
		t.Fatalf("MultiCall: %v %v", nodesOf(rs), err)
	}
	for _, r := range rs {
		var res struct {
			Pong string
			X    int
		}
		if err := r.Decode(&res); err != nil || res.Pong != r.Node || res.X != 3 {
			t.Errorf("reply %+v: %+v %v", r, res, err)
		}
	}

	rs, err = m.Call(ctx, []string{"py2"}, "boom", nil)
	var re *pidbox.RemoteError
	if err != nil || len(rs) != 1 || !errors.As(rs[0].Err, &re) || re.Node != "py2" || re.Message != "ValueError('boom')" {
		t.Fatalf("Call boom: %+v %v, want ValueError('boom') from py2", rs, err)
	}

	if err := m.Cast(ctx, []string{"py1", "py2"}, "shutdown", nil); err != nil {
		t.Fatal(err)
	}
	if err := py.Wait(); err != nil {
		t.Errorf("kombu nodes: %v", err)
	}
}
