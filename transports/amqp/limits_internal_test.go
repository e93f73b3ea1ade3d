package amqp

import (
	"errors"
	"math"
	"strings"
	"testing"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/kelpmq/kelp/route"
)

// What RabbitMQ or amqp091-go would close the channel or the connection
// for is refused before sending (found by fuzz.FuzzAMQPHeaders).
func TestTableLimits(t *testing.T) {
	deep := any(int8(1))
	for range maxTableDepth {
		deep = route.Table{"d": deep}
	}
	if _, err := toAMQPTable("headers", route.Table{"deep": deep}); err != nil {
		t.Errorf("%d levels: %v", maxTableDepth, err)
	}
	for name, tc := range map[string]struct {
		in      route.Table
		mention string
	}{
		"too deep":   {route.Table{"deep": route.Table{"d": deep}}, "nested deeper than 32"},
		"wide array": {route.Table{"a": make([]any, maxTableEntries+1)}, "8193 entries"},
		"NaN":        {route.Table{"f": math.NaN()}, "NaN"},
		"infinity":   {route.Table{"f": float32(math.Inf(1))}, "+Inf"},
		"json NaN":   {route.Table{"n": []any{"x", 1.5, math.Inf(-1)}}, "-Inf"},
	} {
		if _, err := toAMQPTable("headers", tc.in); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%s: got %v, want ErrInvalidArgument mentioning %q", name, err, tc.mention)
		}
	}
}

func TestCheckPublishing(t *testing.T) {
	const frameMax = 4096
	fits := amqp091.Publishing{MessageId: "m", Headers: amqp091.Table{"s": strings.Repeat("x", 4000)}}
	if err := checkPublishing(fits, frameMax); err != nil {
		t.Errorf("headers of about 4000 bytes in a 4096-byte frame: %v", err)
	}
	for name, tc := range map[string]struct {
		p       amqp091.Publishing
		mention string
	}{
		"too large": {amqp091.Publishing{Headers: amqp091.Table{"s": strings.Repeat("x", 4050)}}, "more than one frame holds"},
		"CC string": {amqp091.Publishing{Headers: amqp091.Table{"CC": "q"}}, `"CC"`},
		"BCC table": {amqp091.Publishing{Headers: amqp091.Table{"BCC": amqp091.Table{}}}, `"BCC"`},
	} {
		if err := checkPublishing(tc.p, frameMax); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%s: got %v, want ErrInvalidArgument mentioning %s", name, err, tc.mention)
		}
	}
	if err := checkPublishing(amqp091.Publishing{Headers: amqp091.Table{"CC": []any{"q"}}}, frameMax); err != nil {
		t.Errorf("CC as an array: %v", err)
	}
}
