package inspect

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracesim/tracesim/internal/cmdutil"
)

// The triple (examples/formats) was written by
//
//	go run ./internal/tracegen/cmd/tracegen -format F -traces 20 -spans 40 -services 6 -seed 3
//
// for F in zipkin, jaeger, otlp: the same spans in three formats.
var triple = []string{"../../../examples/formats/zipkin.json", "../../../examples/formats/jaeger.json", "../../../examples/formats/otlp.json"}

// TestSameSpansEveryFormat is the acceptance check that the format is
// invisible after decoding: identical inspect output except the findings,
// which name the input file.
func TestSameSpansEveryFormat(t *testing.T) {
	var want []byte
	for _, f := range triple {
		s, _ := runInspect(t, f)
		if s.Spans != 383 || s.Traces != 20 || len(s.Services) != 4 {
			t.Fatalf("%s: %d traces %d spans %d services; the fixture has 20 traces, 383 spans, 4 services", f, s.Traces, s.Spans, len(s.Services))
		}
		s.Quality.Findings = nil
		got, _ := json.Marshal(s)
		if want == nil {
			want = got
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: inspect differs from %s:\n got %s\nwant %s", f, triple[0], got, want)
		}
	}
}

func TestTableOutput(t *testing.T) {
	var out bytes.Buffer
	io := &cmdutil.IO{Out: &out, ErrOut: &out}
	if err := Run(context.Background(), &Options{IO: io, Inputs: []string{triple[0]}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"20 traces", "4 services", "ENDPOINT", "frontend/GET /api/items", "server", "data quality: 0 orphan"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

// TestGzipAndStdin: a gzip file and the same bytes on stdin read the same.
func TestGzipAndStdin(t *testing.T) {
	raw, err := os.ReadFile(triple[1])
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	path := filepath.Join(t.TempDir(), "jaeger.json.gz")
	if err := os.WriteFile(path, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	plain, _ := runInspect(t, triple[1])
	zipped, _ := runInspect(t, path)
	var out bytes.Buffer
	io := &cmdutil.IO{In: bytes.NewReader(gz.Bytes()), Out: &out, ErrOut: &out}
	if err := Run(context.Background(), &Options{IO: io, Inputs: []string{"-"}, JSON: true}); err != nil {
		t.Fatal(err)
	}
	if plain.Spans != zipped.Spans || !strings.Contains(out.String(), `"spans": `+itoa(plain.Spans)) {
		t.Errorf("gzip %d spans, plain %d, stdin output:\n%.300s", zipped.Spans, plain.Spans, out.String())
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestBadInput: every kind of unusable input is an error that names the
// file and says what was wrong, and partial input is kept with a warning.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	full, _ := os.ReadFile(triple[0])
	cases := []struct {
		name string
		data []byte
		want []string // substrings of the error
	}{
		{"empty.json", nil, []string{"empty.json", "empty"}},
		{"blank.json", []byte("  \n "), []string{"blank.json", "empty"}},
		{"other-shape.json", []byte(`{"foo": [1, 2, 3]}`), []string{"other-shape.json", "not a recognised trace format"}},
		{"not-json.json", []byte("hello world"), []string{"not-json.json", "not JSON"}},
		{"corrupt.json.gz", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 'x', 'y', 'z'}, []string{"corrupt.json.gz", "gzip"}},
		{"truncated-early.json", full[:40], []string{"truncated-early.json", "line 2", "unexpected end of input"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := write(c.name, c.data)
			var out bytes.Buffer
			io := &cmdutil.IO{Out: &out, ErrOut: &out}
			err := Run(context.Background(), &Options{IO: io, Inputs: []string{p}, JSON: true})
			if err == nil {
				t.Fatalf("no error; output:\n%.300s", out.String())
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}

	t.Run("truncated-late", func(t *testing.T) {
		p := write("truncated-late.json", full[:len(full)/2])
		var out, errOut bytes.Buffer
		io := &cmdutil.IO{Out: &out, ErrOut: &errOut}
		if err := Run(context.Background(), &Options{IO: io, Inputs: []string{p}, JSON: true}); err != nil {
			t.Fatalf("partial input should be used: %v", err)
		}
		if !strings.Contains(errOut.String(), "truncated-late.json") || !strings.Contains(errOut.String(), "spans read before it") {
			t.Errorf("no warning naming the file and the spans read: %q", errOut.String())
		}
		var s struct {
			Spans   int
			Quality struct {
				Skipped int `json:"skipped_records"`
			}
		}
		json.Unmarshal(out.Bytes(), &s)
		if s.Spans == 0 || s.Quality.Skipped != 1 {
			t.Errorf("spans %d skipped %d; want some spans and 1 skipped", s.Spans, s.Quality.Skipped)
		}
		err := Run(context.Background(), &Options{IO: io, Inputs: []string{p}, Strict: true})
		if err == nil || !strings.Contains(err.Error(), "truncated-late.json") {
			t.Errorf("--strict: error %v, want one naming the file", err)
		}
	})

	t.Run("missing file", func(t *testing.T) {
		io := &cmdutil.IO{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
		err := Run(context.Background(), &Options{IO: io, Inputs: []string{filepath.Join(dir, "nope.json")}})
		if err == nil || !strings.Contains(err.Error(), "nope.json") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("bad format flag", func(t *testing.T) {
		io := &cmdutil.IO{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
		err := Run(context.Background(), &Options{IO: io, Inputs: []string{triple[0]}, Format: "zipkn"})
		if err == nil || !strings.Contains(err.Error(), "zipkin") {
			t.Errorf("error %v, want the valid names listed", err)
		}
	})
	t.Run("forced wrong format", func(t *testing.T) {
		io := &cmdutil.IO{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
		err := Run(context.Background(), &Options{IO: io, Inputs: []string{triple[1]}, Format: "zipkin"})
		if err == nil || !strings.Contains(err.Error(), "jaeger.json") {
			t.Errorf("jaeger file read as zipkin: error %v", err)
		}
	})
}

// TestDeterministic: the same inputs give byte-identical JSON, however
// maps happen to iterate.
func TestDeterministic(t *testing.T) {
	inputs := append([]string{"../../../examples"}, triple...)
	if _, err := os.Stat(sharedTraces); err == nil {
		inputs = append(inputs, sharedTraces)
	}
	var first []byte
	for range 3 {
		var out bytes.Buffer
		io := &cmdutil.IO{Out: &out, ErrOut: &bytes.Buffer{}}
		if err := Run(context.Background(), &Options{IO: io, Inputs: inputs, JSON: true}); err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = out.Bytes()
		} else if !bytes.Equal(first, out.Bytes()) {
			t.Fatal("two runs on the same inputs gave different JSON")
		}
	}
}
