package jsonscan

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

// spans walks {"data":[{"spans":[...]}]} and returns each span's raw text,
// reading one byte at a time so that every value crosses a buffer refill.
func spans(t *testing.T, in string) ([]string, error) {
	t.Helper()
	s := New(iotest.OneByteReader(strings.NewReader(in)))
	s.buf = make([]byte, 4) // force growth and compaction
	var out []string
	if err := s.BeginObject(); err != nil {
		return out, err
	}
	for {
		k, ok, err := s.NextKey()
		if err != nil || !ok {
			return out, err
		}
		if string(k) != "data" {
			if err := s.Skip(); err != nil {
				return out, err
			}
			continue
		}
		if err := s.BeginArray(); err != nil {
			return out, err
		}
		for {
			more, err := s.NextElem()
			if err != nil {
				return out, err
			}
			if !more {
				break
			}
			if err := s.BeginObject(); err != nil {
				return out, err
			}
			for {
				k, ok, err := s.NextKey()
				if err != nil {
					return out, err
				}
				if !ok {
					break
				}
				if string(k) != "spans" {
					if err := s.Skip(); err != nil {
						return out, err
					}
					continue
				}
				if err := s.BeginArray(); err != nil {
					return out, err
				}
				for {
					more, err := s.NextElem()
					if err != nil {
						return out, err
					}
					if !more {
						break
					}
					raw, err := s.Raw()
					if err != nil {
						return out, err
					}
					out = append(out, string(raw))
				}
			}
		}
	}
}

func TestWalk(t *testing.T) {
	in := `{"total": 2, "x": {"a":[1,{"b":"]}"}]}, "data": [ {"spans": [{"id":"a\"}"}, [1, 2.5e3, true, null]],
 "processes": {}}, {"spans": []} ], "escaped\"key": "v"}`
	got, err := spans(t, in)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`{"id":"a\"}"}`, `[1, 2.5e3, true, null]`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name, in string
		line     int
		msg      string
	}{
		{"truncated in span", "{\"data\":[{\"spans\":[{\"id\":\"a\"},\n{\"id\":", 2, "unexpected end of input"},
		{"truncated string", `{"data":[{"spans":[{"id":"abc`, 1, "unexpected end of input"},
		{"mismatched", `{"data":[{"spans":[{"id":[1}]}]}`, 1, "mismatched"},
		{"missing comma", "{\"data\":[{\"spans\":[{\"a\":1}\n\n {\"a\":2}]}]}", 3, "expected ',' or ']'"},
		{"not an object", `[1,2]`, 1, `expected '{'`},
		{"empty", ``, 1, "unexpected end of input"},
		{"control char", "{\"data\":[{\"spans\":[\"a\x01\"]}]}", 1, "control character"},
		{"bad scalar", `{"data":[{"spans":[@]}]}`, 1, "unexpected '@'"},
		{"trailing comma", `{"data":[{"spans":[1,]}]}`, 1, "trailing ','"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := spans(t, c.in)
			if err == nil {
				t.Fatal("no error")
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SyntaxError", err)
			}
			if se.Line != c.line || !strings.Contains(se.Msg, c.msg) {
				t.Errorf("got line %d %q, want line %d containing %q", se.Line, se.Msg, c.line, c.msg)
			}
		})
	}
}

// TestSequence reads JSON Lines: top-level values one after another.
func TestSequence(t *testing.T) {
	s := New(strings.NewReader("{\"a\":1}\n{\"a\":2}\n\n3"))
	var got []string
	for {
		c, err := s.Peek()
		if err != nil {
			t.Fatal(err)
		}
		if c == 0 {
			break
		}
		raw, err := s.Raw()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(raw))
		if s.Line() < 1 {
			t.Fatal("line")
		}
	}
	if strings.Join(got, ",") != `{"a":1},{"a":2},3` {
		t.Errorf("got %q", got)
	}
	if s.Line() != 4 {
		t.Errorf("line = %d, want 4", s.Line())
	}
}

func FuzzScan(f *testing.F) {
	f.Add(`{"data":[{"spans":[{"id":"a"}]}]}`)
	f.Add(`{"data":[{"spans":[{"id":"a\"`)
	f.Fuzz(func(t *testing.T, in string) {
		_, _ = spans(t, in) // must return, never panic or hang
	})
}

// TestKeyAtBufferBoundary: a key that ends where the buffer ends must
// survive the refill that finds its ':'.
func TestKeyAtBufferBoundary(t *testing.T) {
	for pad := 0; pad < 8; pad++ {
		in := "{" + strings.Repeat(" ", 256<<10-6+pad) + `"id"  :  "x", "a\/b": 1}`
		s := New(strings.NewReader(in))
		if err := s.BeginObject(); err != nil {
			t.Fatal(err)
		}
		k, ok, err := s.NextKey()
		if err != nil || !ok || string(k) != "id" {
			t.Fatalf("pad %d: key %q %v %v, want \"id\"", pad, k, ok, err)
		}
		s.Skip()
		if k, _, err := s.NextKey(); err != nil || string(k) != "a/b" {
			t.Fatalf("escaped key %q %v, want a/b", k, err)
		}
	}
}
