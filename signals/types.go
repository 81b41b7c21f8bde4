package signals

import (
	"context"
	"fmt"
	"reflect"
	"strings"
)

// ConnectionType selects how a connection delivers an emission to its slot,
// as Qt::ConnectionType does. The low bits hold one of AutoConnection,
// DirectConnection, QueuedConnection or BlockingQueuedConnection; the flags
// UniqueConnection and SingleShotConnection may be OR-ed with any of them.
// The values are Qt's.
type ConnectionType uint32

const (
	// AutoConnection, the zero value, decides per emission and per
	// connection: the slot is called directly when the connection has no
	// executor or the emission runs on the connection's executor (declared
	// with EmitOn or WithExecutor), and is queued to the executor otherwise.
	AutoConnection ConnectionType = 0
	// DirectConnection calls the slot inside the emission, on the emitting
	// goroutine, whatever the executors.
	DirectConnection ConnectionType = 1
	// QueuedConnection posts a call of the slot, with a copy of the value,
	// to the connection's executor. The emitter does not wait.
	QueuedConnection ConnectionType = 2
	// BlockingQueuedConnection posts a call of the slot to the connection's
	// executor and waits until the slot has returned. Where waiting would
	// deadlock, or cannot end, the emission returns an error instead.
	BlockingQueuedConnection ConnectionType = 3
	// UniqueConnection is a flag: the connection is refused when the signal
	// already has a connection with the same key (see Unique). The delivery
	// type is not part of the identity. UniqueConnection without a key is
	// invalid.
	UniqueConnection ConnectionType = 0x80
	// SingleShotConnection is a flag: the first emission that reaches the
	// connection claims it atomically and breaks it, before its slot is
	// called or posted, so the slot runs at most once.
	SingleShotConnection ConnectionType = 0x100
)

const (
	baseTypeMask  = 0x3
	flagsMask     = UniqueConnection | SingleShotConnection
	validTypeMask = baseTypeMask | flagsMask
)

// String returns the Go names of t's delivery type and flags, joined by "|".
func (t ConnectionType) String() string {
	var parts []string
	switch t & baseTypeMask {
	case AutoConnection:
		parts = append(parts, "AutoConnection")
	case DirectConnection:
		parts = append(parts, "DirectConnection")
	case QueuedConnection:
		parts = append(parts, "QueuedConnection")
	case BlockingQueuedConnection:
		parts = append(parts, "BlockingQueuedConnection")
	}
	if t&UniqueConnection != 0 {
		parts = append(parts, "UniqueConnection")
	}
	if t&SingleShotConnection != 0 {
		parts = append(parts, "SingleShotConnection")
	}
	if rest := t &^ validTypeMask; rest != 0 {
		parts = append(parts, fmt.Sprintf("ConnectionType(%#x)", uint32(rest)))
	}
	return strings.Join(parts, "|")
}

// A ConnectOption configures a connection made by Signal.Connect or
// Signal.Notify. The options are WithType, On, Unique, Tracked and
// WithContext.
type ConnectOption interface {
	apply(*connectConfig)
}

type connectConfig struct {
	typ     ConnectionType
	ex      Executor
	key     any
	hasKey  bool
	tracked bool
	ctx     context.Context
}

type optionFunc func(*connectConfig)

func (f optionFunc) apply(c *connectConfig) { f(c) }

// WithType sets the connection's delivery type and flags. Without it a
// connection is an AutoConnection.
func WithType(t ConnectionType) ConnectOption {
	return optionFunc(func(c *connectConfig) { c.typ = t })
}

// On names the receiver's executor: queued and blocking deliveries run
// there, and an AutoConnection is direct only for emissions running on ex.
// The executor is fixed for the life of the connection. Its dynamic type
// must be comparable (a pointer, typically), because executors are told
// apart with ==.
func On(ex Executor) ConnectOption {
	return optionFunc(func(c *connectConfig) { c.ex = ex })
}

// Unique makes the connection unique under key: Connect refuses it with
// ErrDuplicate while the signal has another connection with an equal key.
// The key is compared with ==, so it must be comparable and non-nil; a
// string, a small struct or a pointer to the receiver are typical. The
// delivery type is not part of the identity. Disconnecting (or the firing of
// a single-shot connection) frees the key. Unique implies UniqueConnection.
func Unique(key any) ConnectOption {
	return optionFunc(func(c *connectConfig) { c.key, c.hasKey = key, true })
}

// Tracked makes the connection count the invocations of its slot that are
// running, so that Connection.DisconnectWait can wait for them, including
// direct calls made by other goroutines. It costs two atomic additions per
// invocation, which is why it is not the default.
func Tracked() ConnectOption {
	return optionFunc(func(c *connectConfig) { c.tracked = true })
}

// WithContext binds the connection to ctx: it is disconnected when ctx is
// done, as if Disconnect had been called. A connection made with a context
// that is already done is never called.
func WithContext(ctx context.Context) ConnectOption {
	return optionFunc(func(c *connectConfig) { c.ctx = ctx })
}

// isComparable reports whether x can be compared with == without panicking
// (as far as its dynamic type tells).
func isComparable(x any) bool {
	return x == nil || reflect.TypeOf(x).Comparable()
}

func (c *connectConfig) validate() error {
	if c.typ&^validTypeMask != 0 {
		return fmt.Errorf("%w: unknown connection type bits in %v", ErrInvalid, c.typ)
	}
	if c.hasKey {
		if c.key == nil {
			return fmt.Errorf("%w: nil Unique key", ErrInvalid)
		}
		if !isComparable(c.key) {
			return fmt.Errorf("%w: Unique key of type %T is not comparable", ErrInvalid, c.key)
		}
		c.typ |= UniqueConnection
	} else if c.typ&UniqueConnection != 0 {
		return fmt.Errorf("%w: UniqueConnection needs a key: use Unique(key)", ErrInvalid)
	}
	if c.ex != nil && !isComparable(c.ex) {
		return fmt.Errorf("%w: executor of type %T is not comparable", ErrInvalid, c.ex)
	}
	switch c.typ & baseTypeMask {
	case QueuedConnection, BlockingQueuedConnection:
		if c.ex == nil {
			return fmt.Errorf("%w: %v needs an executor: use On(ex)", ErrInvalid, c.typ&baseTypeMask)
		}
	}
	return nil
}

// executorKey is the context key of WithExecutor.
type executorKey struct{}

// WithExecutor returns a copy of ctx that declares that the code using it runs
// on ex. Signal.EmitContext reads it: an AutoConnection whose executor is ex
// is then called directly, and a BlockingQueuedConnection to ex fails with
// ErrDeadlock instead of waiting for itself. Declaring an executor the
// goroutine does not run on is a contract violation (receiver code would run
// off its executor).
func WithExecutor(ctx context.Context, ex Executor) context.Context {
	return context.WithValue(ctx, executorKey{}, ex)
}

// ExecutorFrom returns the executor declared in ctx by WithExecutor, or nil.
func ExecutorFrom(ctx context.Context) Executor {
	ex, _ := ctx.Value(executorKey{}).(Executor)
	return ex
}
