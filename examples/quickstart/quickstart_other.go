//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package main

import (
	"fmt"
	"io"

	"github.com/sigdial/sigdial/reactor"
)

// run needs reactor loops, which this system does not have yet.
func run(io.Writer) error {
	return fmt.Errorf("the quickstart shows reactor loops: %w", reactor.ErrUnsupported)
}
