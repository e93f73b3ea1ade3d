// Package benchmarks measures kelp against the raw client libraries on the
// same broker in the same run, so that its speed is stated as a ratio, not
// as an absolute number that a noisy machine cannot reproduce. It is a
// module of its own (github.com/kelpmq/kelp/benchmarks, with a replace
// directive back to the repository root), so that the peers' dependencies
// never reach kelp's go.mod.
//
// The benchmarks live in the package's tests (see README.md for how to run
// them); the package itself holds the hand-written baselines they compare
// kelp with, written the way an expert would on the raw library:
// [ConfirmPublisher] (amqp091-go publisher confirms, windowed and shared
// by concurrent publishers) and [Fill].
//
// # Concurrency and errors
//
// A ConfirmPublisher is safe for concurrent use and starts no goroutine;
// it owns nothing but its window, and its amqp091 channel stays the
// caller's to close. Errors wrap the amqp091 error or ctx's error;
// [ErrNacked] reports a publish the broker refused.
package benchmarks
