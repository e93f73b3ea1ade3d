package beanstalk

// JobDelay exposes jobDelay to the tests.
var JobDelay = jobDelay
