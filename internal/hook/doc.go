// Package hook holds the socket system calls of the reactor as replaceable
// function variables, for fault injection in tests. It is empty on platforms
// without a reactor.
package hook
