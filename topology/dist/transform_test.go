package dist

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestScaleShift(t *testing.T) {
	e, err := NewExponential(10)
	if err != nil {
		t.Fatal(err)
	}
	sc, sh := Scale(e, 0.5), Shift(e, 3)
	if sc.Mean() != 5 || sh.Mean() != 13 {
		t.Errorf("means %v, %v; want 5, 13", sc.Mean(), sh.Mean())
	}
	for _, p := range []float64{0, 0.5, 0.99} {
		if got, want := sc.Quantile(p), 0.5*e.Quantile(p); got != want {
			t.Errorf("scaled q(%v) = %v, want %v", p, got, want)
		}
		if got, want := sh.Quantile(p), e.Quantile(p)+3; got != want {
			t.Errorf("shifted q(%v) = %v, want %v", p, got, want)
		}
	}
	r1, r2 := rand.New(rand.NewPCG(1, 2)), rand.New(rand.NewPCG(1, 2))
	for range 100 {
		x := e.Sample(r2)
		if got := sc.Sample(r1); math.Abs(got-x*0.5) > 1e-12 {
			t.Fatalf("scaled sample %v, want %v", got, x*0.5)
		}
	}
	if sc.Family() != FamilyExponential || sh.Family() != FamilyExponential {
		t.Errorf("families %q, %q", sc.Family(), sh.Family())
	}
}
