// Package all registers every transport bundled with kelp, for programs
// configured by URL alone. Import it for its side effect:
//
//	import _ "github.com/kelpmq/kelp/transports/all"
//
// after which [github.com/kelpmq/kelp/conn.Dial] understands every bundled
// scheme:
//
//   - "memory://": package [github.com/kelpmq/kelp/transports/memory];
//   - "amqp://", "amqps://", "pyamqp://", "librabbitmq://": package
//     [github.com/kelpmq/kelp/transports/amqp];
//   - "redis://", "rediss://", "redis+socket://": package
//     [github.com/kelpmq/kelp/transports/redis];
//   - "beanstalk://": package
//     [github.com/kelpmq/kelp/transports/beanstalk];
//   - "file://", "filesystem://": package
//     [github.com/kelpmq/kelp/transports/filesystem];
//   - "postgres://", "postgresql://", "mysql://", "sqlite://" and Kombu's
//     "sqla+postgresql://", "sqla+postgres://", "sqla+mysql://",
//     "sqla+sqlite://": package [github.com/kelpmq/kelp/transports/sql].
//
// Drivers added to kelp later are added here too (a test finds every
// package under transports/ that registers a scheme and fails if this
// package does not import it), so a program that imports this package
// accepts every URL kelp can serve.
//
// Programs that use one transport should import that driver instead, which
// links only its client library. The package has no API; importing it
// only runs the drivers' init functions, which register their schemes in
// the [github.com/kelpmq/kelp/transports] registry. It starts no
// goroutines.
package all

import (
	_ "github.com/kelpmq/kelp/transports/amqp"       // amqp, amqps, pyamqp, librabbitmq
	_ "github.com/kelpmq/kelp/transports/beanstalk"  // beanstalk
	_ "github.com/kelpmq/kelp/transports/filesystem" // file, filesystem
	_ "github.com/kelpmq/kelp/transports/memory"     // memory
	_ "github.com/kelpmq/kelp/transports/redis"      // redis, rediss, redis+socket
	_ "github.com/kelpmq/kelp/transports/sql"        // postgres, mysql, sqlite and their sqla+ forms
)
