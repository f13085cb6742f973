// Package clock injects time. Production code takes a Clock; tests pass a
// *Fake and move it across midnight, seven days or a month.
package clock

import (
	"sync"
	"sync/atomic"
	"time"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// Real is the system clock, in UTC.
type Real struct{}

// Now returns the current time in UTC.
func (Real) Now() time.Time { return time.Now().UTC() }

// Fake is a manually driven clock for tests. The zero value is not usable; use NewFake.
type Fake struct {
	mu  sync.Mutex
	now time.Time
}

// NewFake returns a fake clock stopped at t.
func NewFake(t time.Time) *Fake { return &Fake{now: t.UTC()} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the clock forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// Set moves the clock to t.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	f.now = t.UTC()
	f.mu.Unlock()
}

// Offset is a clock running ahead of another by an offset that only grows
// (the sandbox clock: cashgate's time moved forward to see what a week
// does without waiting for it).
type Offset struct {
	base Clock
	off  atomic.Int64 // nanoseconds
}

// NewOffset returns base moved forward by off.
func NewOffset(base Clock, off time.Duration) *Offset {
	o := &Offset{base: base}
	o.off.Store(int64(off))
	return o
}

// Now returns the base clock's time plus the offset.
func (o *Offset) Now() time.Time { return o.base.Now().Add(o.Offset()) }

// Offset returns how far ahead the clock runs.
func (o *Offset) Offset() time.Duration { return time.Duration(o.off.Load()) }

// MoveTo sets the offset to off unless it is already at least that far
// ahead (the clock never goes back); it reports whether it moved.
func (o *Offset) MoveTo(off time.Duration) bool {
	for {
		cur := o.off.Load()
		if int64(off) <= cur {
			return false
		}
		if o.off.CompareAndSwap(cur, int64(off)) {
			return true
		}
	}
}
