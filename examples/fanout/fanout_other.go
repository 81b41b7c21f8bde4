//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package main

import (
	"context"
	"fmt"
	"io"

	"github.com/sigdial/sigdial/reactor"
)

func run(context.Context, config, io.Writer) (summary, error) {
	return summary{}, fmt.Errorf("fanout dials on reactor loops: %w", reactor.ErrUnsupported)
}
