package dist

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	for _, c := range []struct {
		ns   float64
		want string
	}{
		{0, "0s"},
		{750, "750ns"},
		{300e3, "300us"},
		{2.5e6, "2.5ms"},
		{1.234e9, "1.234s"},
		{1.23456e9, "1.235s"},
		{90e9, "90s"},
		{3600e9, "3600s"},
		{12346e9, "12350s"},
		{1, "1ns"},
		{0.5, "0.5ns"},
		{0.00012345, "0.0001234ns"}, // FormatFloat rounds half to even on the binary value
		{999.96, "1us"},
		{999.94, "999.9ns"},
		{999_950, "1ms"},
		{1e6, "1ms"},
		{1001, "1.001us"},
		{10010, "10.01us"},
		{123456789, "123.5ms"},
		{-2.5e6, "-2.5ms"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "+Inf"},
	} {
		if got := FormatDuration(c.ns); got != c.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", c.ns, got, c.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, c := range []struct {
		s    string
		want float64
	}{
		{"0", 0},
		{"0s", 0},
		{"-0", 0},
		{"300us", 300e3},
		{"300µs", 300e3},
		{"300μs", 300e3}, // Greek mu, which Go accepts too
		{"2.5ms", 2.5e6},
		{"1.234s", 1.234e9},
		{"1m30s", 90e9},
		{"1h", 3600e9},
		{"1.5h", 5400e9},
		{".5s", 0.5e9},
		{"0.5ns", 0.5},
		{"+1ms", 1e6},
		{"1s500ms", 1.5e9},
	} {
		got, err := ParseDuration(c.s)
		if err != nil {
			t.Errorf("ParseDuration(%q): %v", c.s, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseDuration(%q) = %v, want %v", c.s, got, c.want)
		}
		// Where Go can parse it, it agrees.
		if d, err := time.ParseDuration(c.s); err == nil && c.want == math.Trunc(c.want) && float64(d) != c.want {
			t.Errorf("time.ParseDuration(%q) = %v, we say %v", c.s, float64(d), c.want)
		}
	}
	for _, c := range []struct{ s, msg string }{
		{"", "empty duration"},
		{"-1ms", "negative duration"},
		{"-0.5s", "negative duration"},
		{"10", "missing unit"},
		{"10 ms", "unknown unit"},
		{"1.2.3s", "unknown unit"},
		{"abc", "expected a number"},
		{"5d", "unknown unit"},
		{"ms", "expected a number"},
		{"-", "invalid duration"},
		{"1e3ms", "unknown unit"},
		{"3000000h", "out of range"},
		{"1" + strings.Repeat("0", 400) + "s", "out of range"},
	} {
		_, err := ParseDuration(c.s)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("ParseDuration(%q): error %v, want one containing %q", c.s, err, c.msg)
		}
	}
}

// checkIdempotent checks the property a model file relies on: the text
// of a value, read back and written again, is the same text, and the
// value read back is what RoundDuration gives.
func checkIdempotent(t *testing.T, ns float64) {
	t.Helper()
	s := FormatDuration(ns)
	v, err := ParseDuration(s)
	if err != nil {
		t.Fatalf("FormatDuration(%v) = %q does not parse: %v", ns, s, err)
	}
	if s2 := FormatDuration(v); s2 != s {
		t.Fatalf("FormatDuration(%v) = %q, but FormatDuration(ParseDuration(%q)) = %q", ns, s, s, s2)
	}
	if r := RoundDuration(ns); r != v {
		t.Fatalf("RoundDuration(%v) = %v, parse of %q = %v", ns, r, s, v)
	}
	if ns > 0 {
		if rel := math.Abs(v-ns) / ns; rel > 5e-4 {
			t.Fatalf("%v → %q loses %.2g relative", ns, s, rel)
		}
		if n := significant(s); n > Digits {
			t.Fatalf("%q has %d significant digits", s, n)
		}
	}
}

func significant(s string) int {
	s = strings.TrimRight(s, "nusmµ")
	s = strings.Replace(s, ".", "", 1)
	s = strings.TrimLeft(s, "0")
	if !strings.Contains(s, ".") {
		// Trailing zeros of an integer are not significant.
		s = strings.TrimRight(s, "0")
	}
	return len(s)
}

func TestFormatDurationIdempotent(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 300_000 {
		// Log-uniform over 1e-6 ns .. MaxNS, plus integers and round-ish
		// numbers that sit on rounding boundaries.
		ns := math.Pow(10, -6+r.Float64()*24.9)
		checkIdempotent(t, ns)
		checkIdempotent(t, math.Round(ns))
		checkIdempotent(t, RoundSig(ns, 4)+0.5*math.Pow(10, math.Floor(math.Log10(ns))-3))
	}
	for _, ns := range []float64{1, 999.95, 999.5, 9.9995e8, MaxNS, math.SmallestNonzeroFloat64, 1e-300} {
		checkIdempotent(t, ns)
	}
}

func FuzzDuration(f *testing.F) {
	for _, s := range []string{"0", "300us", "2.5ms", "1m30s", "0.5ns", "999.95ns", "1.2345s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ns, err := ParseDuration(s)
		if err != nil {
			return
		}
		if ns < 0 || ns > MaxNS || math.IsNaN(ns) {
			t.Fatalf("ParseDuration(%q) = %v", s, ns)
		}
		checkIdempotent(t, ns)
	})
}

func TestRoundSig(t *testing.T) {
	for _, c := range []struct {
		x    float64
		d    int
		want float64
	}{
		{0.123456, 4, 0.1235},
		{123456, 2, 120000},
		{0, 4, 0},
		{math.MaxFloat64, 4, math.MaxFloat64}, // 1.798e308 would overflow
		{-0.98765, 3, -0.988},
	} {
		if got := RoundSig(c.x, c.d); got != c.want {
			t.Errorf("RoundSig(%v, %d) = %v, want %v", c.x, c.d, got, c.want)
		}
	}
}
