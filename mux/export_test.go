package mux

// IsClosed lets the external tests check a done channel as the package
// does.
var IsClosed = isClosed
