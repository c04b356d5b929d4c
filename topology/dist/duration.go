package dist

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Digits is how many significant digits a duration or parameter keeps
// in a model file. Measured latencies are not known better than that,
// and short numbers keep the file readable.
const Digits = 4

// durationUnits are the units FormatDuration picks from, by the power of
// ten of one unit in ns.
var durationUnits = [...]struct {
	name string
	exp  int
}{{"ns", 0}, {"us", 3}, {"ms", 6}, {"s", 9}}

// FormatDuration writes ns as a Go duration string with at most Digits
// significant digits, in the unit that puts the number in [1, 1000)
// where one does ("750ns", "300us", "2.5ms", "1.234s"); below 1ns it
// stays in ns ("0.5ns") and from 1000s on in s ("1234s") so the text
// never needs minutes or hours. Zero is "0s". ASCII "us" is used, not
// "µs". ParseDuration(FormatDuration(x)) is x rounded to Digits
// significant digits, and formatting that again gives the same text.
// NaN and infinities are written as "NaN", "+Inf", "-Inf", which
// ParseDuration rejects.
func FormatDuration(ns float64) string {
	switch {
	case ns == 0:
		return "0s"
	case math.IsNaN(ns) || math.IsInf(ns, 0):
		return strconv.FormatFloat(ns, 'g', -1, 64)
	}
	sign := ""
	if ns < 0 {
		sign, ns = "-", -ns
	}
	// Decimal rounding of the exact value: mantissa "d.ddd" and the
	// power of ten, so no binary division can move a digit.
	e := strconv.FormatFloat(ns, 'e', Digits-1, 64) // "1.235e+06"
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	digits := strings.Replace(mant, ".", "", 1) // "1235": value = 0.1235 × 10^(exp+1)
	unit := durationUnits[0]
	for _, u := range durationUnits {
		if exp >= u.exp {
			unit = u
		}
	}
	// The number in the unit is digits × 10^(exp-unit.exp-(Digits-1)):
	// place the decimal point pointExp digits after the first one.
	point := exp - unit.exp + 1 // digits before the decimal point
	var num string
	switch {
	case point <= 0:
		num = "0." + strings.Repeat("0", -point) + digits
	case point >= len(digits):
		num = digits + strings.Repeat("0", point-len(digits))
	default:
		num = digits[:point] + "." + digits[point:]
	}
	if strings.Contains(num, ".") {
		num = strings.TrimRight(strings.TrimRight(num, "0"), ".")
	}
	return sign + num + unit.name
}

// RoundDuration rounds ns to what FormatDuration shows.
func RoundDuration(ns float64) float64 {
	v, err := parseDuration(FormatDuration(ns), true)
	if err != nil {
		return ns // NaN, ±Inf: nothing to round
	}
	return v
}

// RoundSig rounds x to the given number of significant digits (at
// least 1). Values that would round beyond the float64 range stay as
// they are.
func RoundSig(x float64, digits int) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(x, 'e', max(digits, 1)-1, 64), 64)
	if err != nil || math.IsInf(r, 0) {
		return x
	}
	return r
}

// unitNS maps Go's duration units to ns, the longest unit names first
// so that "ms" is not read as "m" followed by garbage.
var unitNS = [...]struct {
	name string
	ns   int // power of ten, or -1 for minutes, -2 for hours
}{
	{"ns", 0}, {"us", 3}, {"µs", 3}, {"μs", 3}, {"ms", 6}, {"s", 9}, {"m", -1}, {"h", -2},
}

// ParseDuration reads a duration in Go syntax ("300us", "2.5ms", "1m30s",
// "0"; "µs" and "μs" as well as "us") as ns. Unlike time.ParseDuration
// it keeps fractions of a nanosecond and does not lose digits of large
// values to integer steps. Negative durations are an error, as are
// values above MaxNS.
func ParseDuration(s string) (float64, error) {
	return parseDuration(s, false)
}

func parseDuration(s string, allowNegative bool) (float64, error) {
	orig := s
	if s == "" {
		return 0, fmt.Errorf("empty duration: expected a duration such as 300us, 2.5ms or 1s")
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	if s == "0" {
		return 0, nil
	}
	if s == "" {
		return 0, fmt.Errorf("invalid duration %q: expected a duration such as 300us, 2.5ms or 1s", orig)
	}
	var total float64
	for s != "" {
		// A number: digits with at most one '.', at least one digit.
		i, dot, nd := 0, false, 0
		for ; i < len(s); i++ {
			c := s[i]
			if c == '.' && !dot {
				dot = true
				continue
			}
			if c < '0' || c > '9' {
				break
			}
			nd++
		}
		if nd == 0 {
			return 0, fmt.Errorf("invalid duration %q: expected a number followed by a unit (ns, us, ms, s, m, h)", orig)
		}
		num := s[:i]
		s = s[i:]
		// The unit.
		pow, found := 0, false
		for _, u := range unitNS {
			if strings.HasPrefix(s, u.name) {
				pow, found = u.ns, true
				s = s[len(u.name):]
				break
			}
		}
		if !found {
			if s == "" {
				return 0, fmt.Errorf("invalid duration %q: missing unit (ns, us, ms, s, m, h)", orig)
			}
			return 0, fmt.Errorf("invalid duration %q: unknown unit at %q (expected ns, us, ms, s, m or h)", orig, s)
		}
		var v float64
		var err error
		switch pow {
		case -1:
			v, err = strconv.ParseFloat(num, 64)
			v *= 60e9
		case -2:
			v, err = strconv.ParseFloat(num, 64)
			v *= 3600e9
		default:
			// Scale in decimal so "1.234s" is exactly 1234000000.
			v, err = strconv.ParseFloat(num+"e"+strconv.Itoa(pow), 64)
		}
		if err != nil && !isRange(err) {
			return 0, fmt.Errorf("invalid duration %q: %w", orig, err)
		}
		total += v
	}
	if neg && total != 0 && !allowNegative {
		return 0, fmt.Errorf("negative duration %q: durations must be ≥ 0", orig)
	}
	if total > MaxNS {
		return 0, fmt.Errorf("duration %q is out of range (at most %s)", orig, FormatDuration(MaxNS))
	}
	if neg {
		total = -total
	}
	return total, nil
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
