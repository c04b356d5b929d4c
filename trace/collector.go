package trace

import (
	"fmt"
	"strings"
)

// Finding is one data-quality observation: a record that was skipped or
// repaired, with where it is and why.
type Finding struct {
	Source string // file name ("-" for stdin)
	Record int    // span index or line (1-based), 0 when not tied to one record
	Reason string // short stable category, e.g. "bad duration"
	Detail string // what was found and what was expected
}

// String formats the finding as "file: record N: reason: detail".
func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(f.Source)
	if f.Record > 0 {
		fmt.Fprintf(&b, ": record %d", f.Record)
	}
	b.WriteString(": ")
	b.WriteString(f.Reason)
	if f.Detail != "" {
		b.WriteString(": ")
		b.WriteString(f.Detail)
	}
	return b.String()
}

// Collector receives what decoders read: spans, and findings about records
// they had to skip. Decoders append to it directly; one Collector can take
// spans from many files and formats before Assemble.
type Collector struct {
	Spans []Span
	// Findings lists records that were skipped or repaired while
	// decoding, the first MaxFindings of them; Reasons counts all of them
	// by reason, so a million bad records cost a map entry, not a million
	// strings. Skipped counts the skipped ones (a finding may also be a
	// repair, which keeps the span).
	Findings []Finding
	Reasons  map[string]int
	Skipped  int
	// Sources are the input names; Span.Source indexes this list.
	Sources []string

	strs map[string]string
	// attribute sets: cache in front of unique.Make, scratch.
	attrSets map[string]Attrs
	attrBuf  []byte
	attrB    AttrBuilder
}

// AddSource registers an input name and returns its index for Span.Source.
func (c *Collector) AddSource(name string) uint16 {
	c.Sources = append(c.Sources, name)
	return uint16(len(c.Sources) - 1)
}

// MaxFindings bounds how many findings are kept in detail.
const MaxFindings = 1000

// Skip records a skipped record.
func (c *Collector) Skip(source string, record int, reason, detail string) {
	c.Skipped++
	c.Note(source, record, reason, detail)
}

// Note records a repaired record that was kept.
func (c *Collector) Note(source string, record int, reason, detail string) {
	if c.Reasons == nil {
		c.Reasons = make(map[string]int)
	}
	c.Reasons[reason]++
	if len(c.Findings) < MaxFindings {
		c.Findings = append(c.Findings, Finding{Source: source, Record: record, Reason: reason, Detail: detail})
	}
}

// Intern returns a string equal to b, sharing storage with earlier equal
// strings. Service and operation names repeat on nearly every span, so this
// saves most of the string memory of a large input; the lookup does not
// allocate.
func (c *Collector) Intern(b []byte) string {
	if s, ok := c.strs[string(b)]; ok {
		return s
	}
	if c.strs == nil {
		c.strs = make(map[string]string)
	}
	s := string(b)
	if len(c.strs) < 1<<20 { // ids or timestamps as names must not grow this forever
		c.strs[s] = s
	}
	return s
}
