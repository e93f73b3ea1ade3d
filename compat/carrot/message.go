package carrot

import "github.com/kelpmq/kelp/conn"

// Message is carrot's message: a [conn.Delivery] with carrot's Payload.
// Decode, Ack, Reject (no requeue) and Requeue are the delivery's, with
// carrot's semantics: a second settle fails with
// [conn.ErrAlreadySettled] (carrot's MessageStateError).
type Message struct {
	conn.Delivery
}

// Payload decodes the body into a generic value (carrot's payload): JSON
// objects as map[string]any with numbers as json.Number, raw bodies as
// []byte, text as string.
func (m *Message) Payload() (any, error) {
	var v any
	if err := m.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}
