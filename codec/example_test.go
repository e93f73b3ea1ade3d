package codec_test

import (
	"errors"
	"fmt"

	"github.com/kelpmq/kelp/codec"
)

// A producer serializes and compresses; a consumer decompresses and
// decodes, refusing content types outside its accept list.
func Example() {
	type Task struct {
		Name string `json:"task"`
		Args []int  `json:"args"`
	}

	// Producer side.
	body, contentType, contentEncoding, err := codec.Default.Encode("json", Task{"tasks.add", []int{2, 3}})
	if err != nil {
		panic(err)
	}
	body, compression, err := codec.Default.Compress("zlib", body)
	if err != nil {
		panic(err)
	}
	fmt.Println(contentType, contentEncoding, compression)

	// Consumer side.
	accept, err := codec.NewAccept("json", "msgpack")
	if err != nil {
		panic(err)
	}
	plain, err := codec.Default.Decompress(compression, body, 0)
	if err != nil {
		panic(err)
	}
	var task Task
	if err := codec.Default.Decode(contentType, contentEncoding, plain, accept, &task); err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", task)
	// Output:
	// application/json utf-8 application/x-gzip
	// {Name:tasks.add Args:[2 3]}
}

// Messages from Python peers may be pickled; kelp refuses them with an
// error the consumer can recognise and reject the message on.
func ExampleDisallowedError() {
	var v any
	err := codec.Default.Decode("application/x-python-serialize", "binary", []byte("\x80\x04..."), nil, &v)
	fmt.Println(errors.Is(err, codec.ErrContentDisallowed))
	fmt.Println(err)
	// Output:
	// true
	// codec: refusing to deserialize content of type pickle (application/x-python-serialize): kelp never decodes pickle
}

// Kombu 5.3 peers mark datetimes, UUIDs and bytes in JSON.
func ExampleJSON_Decode() {
	body := []byte(`{"eta": {"__type__": "datetime", "__value__": "2024-05-06T07:08:09+00:00"},
		"id": {"__type__": "uuid", "__value__": {"hex": "0d3b5e7e8f4a4c1b9a2e6c7d8e9f0a1b", "version": 4}},
		"n": 12345678901234567890}`)
	var v any
	if err := (codec.JSON{}).Decode(body, &v); err != nil {
		panic(err)
	}
	m := v.(map[string]any)
	fmt.Printf("%T %v\n", m["eta"], m["eta"])
	fmt.Printf("%T %v\n", m["id"], m["id"])
	fmt.Printf("%T %v\n", m["n"], m["n"])
	// Output:
	// time.Time 2024-05-06 07:08:09 +0000 UTC
	// string 0d3b5e7e-8f4a-4c1b-9a2e-6c7d8e9f0a1b
	// json.Number 12345678901234567890
}

// A limit bounds what a hostile body can expand into.
func ExampleRegistry_Decompress() {
	body, header, err := codec.Default.Compress("zstd", make([]byte, 10<<20))
	if err != nil {
		panic(err)
	}
	_, err = codec.Default.Decompress(header, body, 1<<20)
	fmt.Println(errors.Is(err, codec.ErrTooLarge))
	// Output: true
}
