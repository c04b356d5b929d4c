// Package cmdutil holds what every tracesim command shares: its I/O
// streams, JSON and table output, and the progress bar. Commands take an
// *IO so that tests run them without a process.
package cmdutil

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// IO is a command's standard streams.
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// ErrTerminal reports whether ErrOut is a terminal: progress bars are
	// drawn only then.
	ErrTerminal bool
}

// System returns the process's streams.
func System() *IO {
	return &IO{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, ErrTerminal: isTerminal(os.Stderr)}
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// WriteJSON writes v as indented JSON with a trailing newline. Map keys are
// sorted by encoding/json, so output is byte-for-byte stable.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Table returns a tab-separated table writer with aligned columns; call
// Flush when done.
func Table(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// ProgressMin is the input size from which a progress bar is worth showing.
const ProgressMin = 4 << 20

// Bar is a progress bar over bytes read, drawn on a terminal only.
type Bar struct {
	p   *mpb.Progress
	bar *mpb.Bar
	w   io.Writer
}

// NewBar returns a progress reporter for inputs of the given total size, or
// nil when none should be drawn (not a terminal, or too little to read).
func NewBar(io *IO, total int64) *Bar {
	if !io.ErrTerminal || total < ProgressMin {
		return nil
	}
	return &Bar{w: io.ErrOut}
}

// Start begins a bar for one input.
func (b *Bar) Start(name string, size int64) {
	b.p = mpb.New(mpb.WithOutput(b.w), mpb.WithWidth(40))
	b.bar = b.p.AddBar(size,
		mpb.PrependDecorators(decor.Name(filepath.Base(name), decor.WCSyncSpaceR)),
		mpb.AppendDecorators(decor.CountersKibiByte("% .1f / % .1f"), decor.Percentage(decor.WCSyncSpace)),
	)
}

// Read advances the bar.
func (b *Bar) Read(n int) { b.bar.IncrBy(n) }

// Done finishes the bar.
func (b *Bar) Done() {
	b.bar.SetTotal(-1, true)
	b.p.Wait()
}

// Warnf prints a warning line on ErrOut.
func (io *IO) Warnf(format string, args ...any) {
	fmt.Fprintf(io.ErrOut, "warning: "+format+"\n", args...)
}

// Counter is a progress bar over a count of steps (replications, rates),
// drawn on a terminal only; a nil *Counter does nothing.
type Counter struct {
	p   *mpb.Progress
	bar *mpb.Bar
}

// NewCounter returns a bar of total steps labelled name, or nil when
// ErrOut is not a terminal.
func NewCounter(io *IO, name string, total int) *Counter {
	if !io.ErrTerminal || total < 2 {
		return nil
	}
	p := mpb.New(mpb.WithOutput(io.ErrOut), mpb.WithWidth(40))
	bar := p.AddBar(int64(total),
		mpb.PrependDecorators(decor.Name(name, decor.WCSyncSpaceR)),
		mpb.AppendDecorators(decor.CountersNoUnit("%d / %d"), decor.Elapsed(decor.ET_STYLE_GO, decor.WCSyncSpace)))
	return &Counter{p: p, bar: bar}
}

// Step advances the bar by one; safe for concurrent use.
func (c *Counter) Step() {
	if c != nil {
		c.bar.Increment()
	}
}

// Done removes the bar.
func (c *Counter) Done() {
	if c != nil {
		c.bar.Abort(true)
		c.p.Wait()
	}
}
