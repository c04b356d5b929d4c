// Package jsonscan walks a JSON stream structurally without decoding it, so
// that trace decoders can descend into envelopes ({"data":[...]},
// resourceSpans, arrays of arrays) and hand each span's raw bytes to a fast
// value parser. Only one value is held in memory at a time: a file of a
// million spans is never read whole.
//
// The scanner checks structure (brackets, strings, separators) but not the
// contents of scalars; the caller's value parser validates what it reads.
package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// MaxValue is the largest single value Raw will hold in memory. A span
// larger than this is not a span.
const MaxValue = 64 << 20

// SyntaxError describes malformed or truncated input with its position.
type SyntaxError struct {
	Offset int64 // byte offset of the problem
	Line   int   // 1-based line of the problem
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d (byte %d): %s", e.Line, e.Offset, e.Msg)
}

// ErrTruncated is wrapped by the SyntaxError returned when input ends in the
// middle of a value.
var ErrTruncated = errors.New("unexpected end of input (truncated file?)")

type frame struct {
	obj   bool
	first bool
}

// Scanner reads JSON values from a stream. The zero value is not usable;
// call New.
type Scanner struct {
	r     io.Reader
	buf   []byte
	pos   int   // next unread byte in buf
	end   int   // end of valid data in buf
	base  int64 // stream offset of buf[0]
	line  int   // line number at buf[pos]
	mark  int   // start of a capture in progress, or -1
	rerr  error // read error or io.EOF from r
	stack []frame
	brack []byte // bracket stack reused by scanValue
	key   []byte // the last key NextKey returned
}

// New returns a Scanner reading from r. Wrap r in nothing: the scanner
// buffers itself.
func New(r io.Reader) *Scanner {
	return &Scanner{r: r, buf: make([]byte, 256<<10), line: 1, mark: -1}
}

// Offset returns the stream offset of the next unread byte.
func (s *Scanner) Offset() int64 { return s.base + int64(s.pos) }

// Line returns the 1-based line of the next unread byte.
func (s *Scanner) Line() int { return s.line }

// Depth returns how many objects and arrays are open.
func (s *Scanner) Depth() int { return len(s.stack) }

func (s *Scanner) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: s.Offset(), Line: s.line, Msg: fmt.Sprintf(format, args...)}
}

func (s *Scanner) truncated() error {
	if s.rerr != nil && s.rerr != io.EOF {
		return fmt.Errorf("line %d (byte %d): %w", s.line, s.Offset(), s.rerr)
	}
	return &SyntaxError{Offset: s.Offset(), Line: s.line, Msg: ErrTruncated.Error()}
}

// fill reads more data; it returns false when nothing more can be read.
// Bytes from s.mark (during a capture) or s.pos onward are kept.
func (s *Scanner) fill() bool {
	if s.rerr != nil {
		return false
	}
	keep := s.pos
	if s.mark >= 0 {
		keep = s.mark
	}
	if keep > 0 {
		n := copy(s.buf, s.buf[keep:s.end])
		s.base += int64(keep)
		s.pos -= keep
		if s.mark >= 0 {
			s.mark = 0
		}
		s.end = n
	}
	if s.end == len(s.buf) {
		if len(s.buf) >= MaxValue {
			s.rerr = fmt.Errorf("a single JSON value is larger than %d MiB", MaxValue>>20)
			return false
		}
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for tries := 0; tries < 100; tries++ {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.rerr = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	s.rerr = io.ErrNoProgress
	return false
}

// skipSpace advances over whitespace and returns the next byte, or -1 at
// end of input. (An int, not a byte: a NUL in the input is a byte like any
// other, to be reported as unexpected, not taken for the end.)
func (s *Scanner) skipSpace() int {
	for {
		for s.pos < s.end {
			c := s.buf[s.pos]
			switch c {
			case ' ', '\t', '\r':
				s.pos++
			case '\n':
				s.pos++
				s.line++
			default:
				return int(c)
			}
		}
		if !s.fill() {
			return -1
		}
	}
}

// Peek returns the first byte of the next token without consuming it, or 0
// at the end of input (a NUL byte in the input is an error). Separators (',' and ':') are consumed by NextKey and
// NextElem, so inside an array or object call those first.
func (s *Scanner) Peek() (byte, error) {
	c := s.skipSpace()
	if c < 0 {
		if s.rerr != nil && s.rerr != io.EOF {
			return 0, s.truncated()
		}
		return 0, nil
	}
	if c < 0 {
		return 0, s.errorf("unexpected byte 0x00 (binary data, not JSON)")
	}
	return byte(c), nil
}

// BeginObject consumes '{'.
func (s *Scanner) BeginObject() error { return s.begin('{', true) }

// BeginArray consumes '['.
func (s *Scanner) BeginArray() error { return s.begin('[', false) }

func (s *Scanner) begin(want byte, obj bool) error {
	c := s.skipSpace()
	if c < 0 {
		return s.truncated()
	}
	if c != int(want) {
		return s.errorf("expected %q, found %s", want, describe(byte(c)))
	}
	s.pos++
	s.stack = append(s.stack, frame{obj: obj, first: true})
	return nil
}

// NextKey advances to the next member of the current object and returns its
// key (valid until the next call), or ok == false after consuming the
// closing '}'.
func (s *Scanner) NextKey() (key []byte, ok bool, err error) {
	if len(s.stack) == 0 || !s.stack[len(s.stack)-1].obj {
		return nil, false, errors.New("jsonscan: NextKey outside an object")
	}
	top := &s.stack[len(s.stack)-1]
	c := s.skipSpace()
	if c < 0 {
		return nil, false, s.truncated()
	}
	if c == '}' {
		s.pos++
		s.stack = s.stack[:len(s.stack)-1]
		return nil, false, nil
	}
	if !top.first {
		if c != ',' {
			return nil, false, s.errorf("expected ',' or '}' in object, found %s", describe(byte(c)))
		}
		s.pos++
		c = s.skipSpace()
		if c < 0 {
			return nil, false, s.truncated()
		}
	}
	top.first = false
	if c != '"' {
		return nil, false, s.errorf("expected object key string, found %s", describe(byte(c)))
	}
	raw, err := s.Raw()
	if err != nil {
		return nil, false, err
	}
	// Copy the key: finding the ':' may refill the buffer under it.
	if bytes.IndexByte(raw, '\\') >= 0 {
		var u string
		if uerr := json.Unmarshal(raw, &u); uerr != nil {
			return nil, false, s.errorf("bad escape in key %s", raw)
		}
		s.key = append(s.key[:0], u...)
	} else {
		s.key = append(s.key[:0], raw[1:len(raw)-1]...)
	}
	key = s.key
	c = s.skipSpace()
	if c < 0 {
		return nil, false, s.truncated()
	}
	if c != ':' {
		return nil, false, s.errorf("expected ':' after key %q, found %s", key, describe(byte(c)))
	}
	s.pos++
	return key, true, nil
}

// NextElem advances to the next element of the current array: true if one
// follows, false after consuming the closing ']'.
func (s *Scanner) NextElem() (bool, error) {
	if len(s.stack) == 0 || s.stack[len(s.stack)-1].obj {
		return false, errors.New("jsonscan: NextElem outside an array")
	}
	top := &s.stack[len(s.stack)-1]
	c := s.skipSpace()
	if c < 0 {
		return false, s.truncated()
	}
	if c == ']' {
		s.pos++
		s.stack = s.stack[:len(s.stack)-1]
		return false, nil
	}
	if !top.first {
		if c != ',' {
			return false, s.errorf("expected ',' or ']' in array, found %s", describe(byte(c)))
		}
		s.pos++
		if c = s.skipSpace(); c < 0 {
			return false, s.truncated()
		}
		if c == ']' {
			return false, s.errorf("trailing ',' before ']'")
		}
	}
	top.first = false
	return true, nil
}

// Raw returns the bytes of the next complete value. The slice is valid until
// the next call on the Scanner.
func (s *Scanner) Raw() ([]byte, error) {
	if s.skipSpace() < 0 {
		return nil, s.truncated()
	}
	s.mark = s.pos
	err := s.scanValue()
	start := s.mark
	s.mark = -1
	if err != nil {
		return nil, err
	}
	return s.buf[start:s.pos], nil
}

// Skip consumes the next value without keeping it.
func (s *Scanner) Skip() error {
	if s.skipSpace() < 0 {
		return s.truncated()
	}
	return s.scanValue()
}

// scanValue advances s.pos past one value starting at s.pos.
func (s *Scanner) scanValue() error {
	s.brack = s.brack[:0]
	for {
		c := s.skipSpace()
		if c < 0 {
			return s.truncated()
		}
		switch c {
		case '{', '[':
			s.brack = append(s.brack, byte(c))
			s.pos++
			continue
		case '}', ']':
			if len(s.brack) == 0 {
				return s.errorf("unexpected %s", describe(byte(c)))
			}
			open := s.brack[len(s.brack)-1]
			if (open == '{') != (c == '}') {
				return s.errorf("mismatched %s", describe(byte(c)))
			}
			s.brack = s.brack[:len(s.brack)-1]
			s.pos++
		case ',', ':':
			if len(s.brack) == 0 {
				return s.errorf("unexpected %s", describe(byte(c)))
			}
			s.pos++
			continue
		case '"':
			if err := s.scanString(); err != nil {
				return err
			}
		default:
			if err := s.scanScalar(); err != nil {
				return err
			}
		}
		if len(s.brack) == 0 {
			return nil
		}
	}
}

func (s *Scanner) scanString() error {
	s.pos++ // opening quote
	for {
		i := s.pos
		for i < s.end {
			c := s.buf[i]
			if c == '"' {
				s.pos = i + 1
				return nil
			}
			if c == '\\' {
				if i+1 >= s.end {
					break
				}
				i += 2
				continue
			}
			if c < 0x20 {
				s.pos = i
				return s.errorf("control character %s in string", describe(c))
			}
			i++
		}
		s.pos = i
		if !s.fill() {
			return s.truncated()
		}
	}
}

func (s *Scanner) scanScalar() error {
	n := 0 // bytes of the scalar so far; positions move when fill compacts
	for {
		for s.pos < s.end {
			c := s.buf[s.pos]
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == ':' {
				if n == 0 {
					return s.errorf("unexpected %s", describe(c))
				}
				return nil
			}
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '+' || c == '.' || c == 'E') {
				return s.errorf("unexpected %s", describe(c))
			}
			s.pos++
			n++
		}
		if !s.fill() {
			if n > 0 && s.rerr == io.EOF {
				return nil // a scalar may end the input (JSON lines, bare number)
			}
			return s.truncated()
		}
	}
}

func describe(c byte) string {
	switch {
	case c >= 0x20 && c < 0x7f:
		return strconv.QuoteRune(rune(c))
	default:
		return fmt.Sprintf("byte 0x%02x", c)
	}
}
