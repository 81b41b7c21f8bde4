//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package main

// acceptQueue cannot read the accept queue here; fullQueue probes instead.
func acceptQueue(int) (queued uint32, full, known bool) { return 0, false, false }
