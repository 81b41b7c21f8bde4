// Parts of this file are adapted from Go's net package (src/net/dial.go and
// src/internal/godebug/godebug.go, Go 1.26). Copyright 2010 The Go Authors.
// All rights reserved. Use of that source code is governed by a BSD-style
// license that can be found in Go's LICENSE file (https://go.dev/LICENSE).

package dialer

import (
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// defaultMPTCPEnabledDial is net's default for dialers: Multipath TCP is
// used by default with listeners, if available, but not with dialers
// (go.dev/issue/56539).
const defaultMPTCPEnabledDial = false

// mptcpStatusDial is a tristate for Multipath TCP on clients, as in net.
type mptcpStatusDial uint8

const (
	// mptcpUseDefaultDial (the zero value) follows GODEBUG=multipathtcp,
	// then defaultMPTCPEnabledDial.
	mptcpUseDefaultDial mptcpStatusDial = iota
	mptcpEnabledDial
	mptcpDisabledDial
)

// get reports whether dials use MPTCP: as set by SetMultipathTCP, else as
// GODEBUG=multipathtcp says (1: everywhere, 3: dialers only), else off.
func (m mptcpStatusDial) get() bool {
	switch m {
	case mptcpEnabledDial:
		return true
	case mptcpDisabledDial:
		return false
	}
	// If MPTCP is forced via GODEBUG=multipathtcp=1 or 3.
	if v := godebugMultipathTCP(); v == "1" || v == "3" {
		return true
	}
	return defaultMPTCPEnabledDial
}

func (m *mptcpStatusDial) set(use bool) {
	if use {
		*m = mptcpEnabledDial
	} else {
		*m = mptcpDisabledDial
	}
}

// godebugCache remembers the last GODEBUG environment value parsed by
// godebugMultipathTCP, so that the common case costs one os.Getenv and a string
// comparison.
var godebugCache atomic.Pointer[godebugEntry]

type godebugEntry struct {
	env   string // GODEBUG as last seen
	value string // the multipathtcp setting it yields, with defaults applied
}

// defaultGODEBUG is the binary's default GODEBUG, made from //go:debug
// directives and the main module's go.mod (the "DefaultGODEBUG" build
// setting); net reads the same value through the runtime.
var defaultGODEBUG = sync.OnceValue(func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "DefaultGODEBUG" {
				return s.Value
			}
		}
	}
	return ""
})

// godebugMultipathTCP returns the value of the GODEBUG setting
// multipathtcp the way internal/godebug computes it: the
// GODEBUG environment variable first, its last occurrence winning, then the
// binary's default. A "#bisect" suffix is dropped.
//
// net sees the setting through internal/godebug, which the runtime updates
// when os.Setenv changes GODEBUG; reading the environment on every call
// follows such changes too. The value is cached per distinct GODEBUG string.
func godebugMultipathTCP() string {
	const name = "multipathtcp"
	env := os.Getenv("GODEBUG")
	if e := godebugCache.Load(); e != nil && e.env == env {
		return e.value
	}
	v, ok := lookupGODEBUG(env, name)
	if !ok {
		v, _ = lookupGODEBUG(defaultGODEBUG(), name)
	}
	godebugCache.Store(&godebugEntry{env: env, value: v})
	return v
}

// lookupGODEBUG finds name in a "k=v,k2=v2" list; later settings override
// earlier ones, as in internal/godebug.parse.
func lookupGODEBUG(s, name string) (string, bool) {
	end := len(s)
	eq := -1
	for i := end - 1; i >= -1; i-- {
		if i == -1 || s[i] == ',' {
			if eq >= 0 && s[i+1:eq] == name {
				arg := s[eq+1 : end]
				for j := 0; j < len(arg); j++ {
					if arg[j] == '#' {
						arg = arg[:j]
						break
					}
				}
				return arg, true
			}
			eq = -1
			end = i
		} else if s[i] == '=' {
			eq = i
		}
	}
	return "", false
}
