package transports_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kelpmq/kelp/transports"
)

type fakeDriver struct{ name string }

func (d fakeDriver) OpenConnector(rawURL string) (transports.Connector, error) {
	return nil, fmt.Errorf("%w: %s saw %s", transports.ErrInvalidURL, d.name, transports.RedactURL(rawURL))
}

func TestErrorMatchesByCode(t *testing.T) {
	err := fmt.Errorf("declare: %w", &transports.Error{Code: 404, Reason: "NOT_FOUND - no queue 'q' in vhost '/'"})
	if !errors.Is(err, transports.ErrNotFound) {
		t.Fatalf("errors.Is(%v, ErrNotFound) = false", err)
	}
	if errors.Is(err, transports.ErrPreconditionFailed) {
		t.Fatalf("a 404 matched ErrPreconditionFailed")
	}
	var be *transports.Error
	if !errors.As(err, &be) || be.Reason != "NOT_FOUND - no queue 'q' in vhost '/'" {
		t.Fatalf("errors.As lost the reason: %#v", be)
	}
	if got := be.Error(); !strings.Contains(got, "404 NOT_FOUND") || !strings.Contains(got, "no queue 'q'") {
		t.Fatalf("Error() = %q", got)
	}
	if errors.Is(err, &transports.Error{}) {
		t.Fatalf("a zero-code target must match nothing")
	}
	cause := errors.New("io: broken pipe")
	wrapped := &transports.Error{Code: 320, Err: cause}
	if !errors.Is(wrapped, cause) || !wrapped.ConnectionLevel() || !wrapped.Temporary() {
		t.Fatalf("320 wrapping a cause: Is=%v hard=%v temp=%v", errors.Is(wrapped, cause), wrapped.ConnectionLevel(), wrapped.Temporary())
	}
	if transports.ErrNotFound.ConnectionLevel() || transports.ErrNotFound.Temporary() {
		t.Fatalf("404 must be a permanent channel-level error")
	}
	if !errors.Is(transports.ErrUnsupported, errors.ErrUnsupported) {
		t.Fatalf("ErrUnsupported must wrap errors.ErrUnsupported")
	}
	if transports.CodeName(406) != "PRECONDITION_FAILED" || transports.CodeName(999) != "" {
		t.Fatalf("CodeName table is wrong")
	}
}

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"amqp://guest:secret@localhost:5672//", "amqp://guest:***@localhost:5672//"},
		{"redis://:pw@h:6379/0", "redis://:***@h:6379/0"},
		{"amqp://guest@h//", "amqp://guest@h//"},
		{"memory://", "memory://"},
		{"amqp://u:p%zz@h/", "amqp://u:***@h/"}, // unparsable escape: heuristic path
		{"no scheme", "no scheme"},
	} {
		got := transports.RedactURL(tc.in)
		if got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if strings.Contains(got, "secret") || strings.Contains(got, ":pw@") {
			t.Errorf("RedactURL(%q) leaked the password: %q", tc.in, got)
		}
	}
}

func TestRegistry(t *testing.T) {
	transports.Register("kelptest-sqla", fakeDriver{"sqla"})
	transports.Register("KelpTest-Exact+pg", fakeDriver{"exact"})

	if _, err := transports.Lookup("kelptest-sqla+mysql"); err != nil {
		t.Fatalf("a+b must fall back to a: %v", err)
	}
	d, err := transports.Lookup("kelptest-exact+PG")
	if err != nil || d.(fakeDriver).name != "exact" {
		t.Fatalf("exact a+b registration must win, got %v, %v", d, err)
	}
	_, err = transports.Lookup("nosuch")
	if !errors.Is(err, transports.ErrUnknownScheme) || !strings.Contains(err.Error(), "transports/all") ||
		!strings.Contains(err.Error(), "kelptest-sqla") {
		t.Fatalf("unknown scheme error not helpful: %v", err)
	}
	_, err = transports.OpenConnector("kelptest-sqla://u:hunter2@h/db")
	if !errors.Is(err, transports.ErrInvalidURL) || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("OpenConnector error = %v (must wrap ErrInvalidURL, no password)", err)
	}
	_, err = transports.OpenConnector("localhost:5672")
	if !errors.Is(err, transports.ErrInvalidURL) {
		t.Fatalf("URL without scheme: %v", err)
	}
	for _, bad := range []func(){
		func() { transports.Register("kelptest-sqla", fakeDriver{}) },
		func() { transports.Register("x", nil) },
		func() { transports.Register("", fakeDriver{}) },
		func() { transports.Register("a://", fakeDriver{}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register did not panic")
				}
			}()
			bad()
		}()
	}
	s := transports.Schemes()
	if len(s) < 2 || s[0] > s[len(s)-1] {
		t.Fatalf("Schemes() = %v, want sorted list incl. test drivers", s)
	}
}
