package codec

import (
	"testing"
)

// The content encoding of a raw body is found without copying the body:
// publishing a large []byte must copy it once (Encode), not twice.
func TestRawEncodingOfDoesNotCopy(t *testing.T) {
	body := make([]byte, 64<<10)
	type myString string
	for _, tc := range []struct {
		v    any
		want string
	}{
		{body, EncodingBinary}, {"text", EncodingUTF8}, {myString("x"), EncodingUTF8}, {nil, EncodingBinary},
	} {
		if got := (Raw{}).encodingOf(tc.v); got != tc.want {
			t.Errorf("encodingOf(%T) = %q, want %q", tc.v, got, tc.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = (Raw{}).encodingOf(body) }); n != 0 {
		t.Errorf("encodingOf a []byte allocates %.0f times, want 0", n)
	}
}
