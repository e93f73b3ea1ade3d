// Kelp is the command-line tool of kelp, the Go messaging framework: a tour
// of the library on its embedded broker, a publisher and a consumer for
// any broker kelp speaks to, and a load generator that measures them.
//
// Usage:
//
//	kelp demo
//	kelp publish --url URL [--exchange E] [--type direct|topic|fanout|headers]
//	             [--routing-key K] [--serializer json|raw|text|msgpack]
//	             [--compression NAME] [--header k=v]... [--priority N]
//	             [--count N] [--mandatory] BODY
//	kelp consume --url URL --queue Q [--exchange E [--type T] --routing-key K]
//	             [--count N] [--timeout DURATION] [--accept LIST]
//	             [--format json|body] [--declare=false]
//	kelp bench [--url URL] [--messages N] [--size B] [--publishers P]
//	           [--consumers C] [--confirm] [--prefetch N] [--duration D]
//	           [--queue Q]
//	kelp help [command]
//
// # demo
//
// Demo runs on the in-process memory transport, so it needs no server
// (go run ./cmd/kelp demo). It declares a direct, a topic and a fanout
// exchange with five queues, consumes from all of them through one
// Consumer (one Go channel), publishes to each exchange and shows where
// every message lands, acknowledges, requeues a message that then comes
// back marked redelivered, and shows Next giving up when its ctx ends. Its
// output is the same on every run.
//
// # publish
//
// Publish sends BODY, or with BODY "-" each line of standard input, to an
// exchange (the default exchange unless --exchange), --count times each,
// with publisher confirms: it returns once the broker took every message.
// With --serializer json, the default, BODY must be JSON text and is sent
// as that document; msgpack converts the JSON text to msgpack; text and raw
// send the bytes as given. --type declares the exchange; without it the
// exchange must exist. It prints one summary line.
//
// # consume
//
// Consume declares the queue (unless --declare=false), binds it with
// --exchange and --routing-key, and prints one line per message: with
// --format json (the default) an object holding the decoded body,
// headers, properties and delivery info, with --format body the body
// itself. It acknowledges each message once printed. It exits once
// --count messages arrived, and fails when --timeout passes first. With
// --count it takes exactly that many: it holds one message at a time and
// cancels its subscription (conn's Consumer.Cancel) before acknowledging
// the last, so no further message is sent to it, and none is put back
// marked redelivered.
//
// # bench
//
// Bench publishes --messages raw bodies of --size bytes from --publishers
// goroutines (each a blocking Publish; with --confirm each waits for the
// broker's confirmation) while --consumers consumers ack every message,
// and prints the publish and consume rates, the latency percentiles from
// publish to receipt (the body carries its publish time when it is at
// least 8 bytes), and the errors. The URL defaults to memory://, so
// "kelp bench" alone measures the embedded broker. The queue is fresh and
// deleted at the end unless --queue names one; --duration ends the run
// early. On a terminal a progress bar is redrawn in place; otherwise a
// progress line is printed every second. The first error ends the run.
//
// # Connections and errors
//
// --url takes any URL package conn accepts, including ';'-separated
// failover lists; every bundled transport is linked in. The URL may come
// from the KELP_URL environment variable instead. Without either, publish
// and consume use file://<user cache dir>/kelp/queues (the filesystem
// transport under os.UserCacheDir, such as ~/.cache/kelp/queues): every
// kelp process of the user on the machine shares it, so a publish in one
// terminal reaches a consume in another with no broker; demo always runs
// on memory://, inside its one process. --connect-timeout
// (default 10s) bounds connecting, and a broker that refuses three rounds
// of attempts in a row ends the command within about a second. Passwords
// are never printed.
//
// Every failure is one line on standard error. Exit codes: 0 success; 1 a
// broker, network or data error, or a timeout; 2 a bad command line
// (checked before anything is dialed); 130 interrupted by SIGINT or SIGTERM,
// after closing the connection gracefully.
package main
