//go:build linux && race

package dialer

// soakRace reports whether the tests run under the race detector, which
// makes a dial about ten times dearer: the soak's CI size is smaller then.
const soakRace = true
