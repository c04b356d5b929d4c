package plot

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image/png"
	"io"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

func expSeries(name string, meanMs float64) Series {
	var pts []XY
	for i := range 200 {
		q := 0.9999 * float64(i) / 199
		pts = append(pts, XY{X: -meanMs * math.Log(1-q), Y: q})
	}
	return Series{Name: name, Points: pts}
}

func loadCurves() []Curve {
	var c50, c99 []LoadPoint
	for r := 10.0; r <= 90; r += 10 {
		v := 1000 / (100 - r)
		c50 = append(c50, LoadPoint{Rate: r, Value: 0.7 * v, Lo: 0.6 * v, Hi: 0.8 * v})
		c99 = append(c99, LoadPoint{Rate: r, Value: 4.6 * v, Lo: 4 * v, Hi: 5.2 * v})
	}
	return []Curve{{Name: "server/work p50", Points: c50}, {Name: "server/work p99", Points: c99}}
}

// checkSVG parses b as XML and checks it names every want.
func checkSVG(t *testing.T, b []byte, want ...string) {
	t.Helper()
	if len(b) == 0 {
		t.Fatal("empty SVG")
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse as XML: %v", err)
		}
		if cd, ok := tok.(xml.CharData); ok {
			text.Write(cd)
		}
	}
	for _, w := range want {
		if !strings.Contains(text.String(), w) {
			t.Errorf("SVG text lacks %q", w)
		}
	}
}

func checkPNG(t *testing.T, b []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("PNG does not decode: %v", err)
	}
	wantW, wantH := int(math.Round(float64(Width/vg.Inch)*DPI)), int(math.Round(float64(Height/vg.Inch)*DPI)) // 960×600
	if s := img.Bounds().Size(); s.X != wantW || s.Y != wantH {
		t.Errorf("PNG is %v, want %dx%d", s, wantW, wantH)
	}
}

func TestCDF(t *testing.T) {
	series := []Series{expSeries("baseline", 10), expSeries("predicted", 5)}
	for _, tail := range []bool{false, true} {
		var svg, pngBuf bytes.Buffer
		if err := CDF(&svg, "svg", "cdf title", series, tail); err != nil {
			t.Fatalf("tail=%v: %v", tail, err)
		}
		checkSVG(t, svg.Bytes(), "cdf title", "baseline", "predicted", "latency (ms)")
		if err := CDF(&pngBuf, "png", "cdf title", series, tail); err != nil {
			t.Fatalf("tail=%v: %v", tail, err)
		}
		checkPNG(t, pngBuf.Bytes())
	}
}

func TestLoad(t *testing.T) {
	var svg, pngBuf bytes.Buffer
	if err := Load(&svg, "svg", "load title", loadCurves()); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, svg.Bytes(), "load title", "server/work p50", "server/work p99", "offered load (requests/s)")
	if err := Load(&pngBuf, "png", "load title", loadCurves()); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, pngBuf.Bytes())
	// One point and no intervals still draw.
	one := []Curve{{Name: "x", Points: []LoadPoint{{Rate: 5, Value: 3}}}}
	if err := Load(io.Discard, "png", "one", one); err != nil {
		t.Errorf("single point without interval: %v", err)
	}
}

func TestErrors(t *testing.T) {
	ok := []Series{expSeries("a", 1)}
	cases := map[string]error{
		"unsupported chart format \"pdf\"": CDF(io.Discard, "pdf", "t", ok, false),
		"at least one series":              CDF(io.Discard, "png", "t", nil, false),
		"fraction in [0, 1]":               CDF(io.Discard, "png", "t", []Series{{Name: "b", Points: []XY{{1, 2}}}}, false),
		"has no points to draw":            CDF(io.Discard, "png", "t", []Series{{Name: "c", Points: []XY{{1, 1}}}}, true),
		"at least one curve":               Load(io.Discard, "svg", "t", nil),
		"must be finite":                   Load(io.Discard, "svg", "t", []Curve{{Name: "n", Points: []LoadPoint{{Rate: math.NaN()}}}}),
	}
	for want, err := range cases {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want one containing %q", err, want)
		}
	}
	for path, want := range map[string]string{"a.PNG": "png", "dir/b.svg": "svg"} {
		if got, err := FormatOf(path); err != nil || got != want {
			t.Errorf("FormatOf(%q) = %q, %v; want %q", path, got, err, want)
		}
	}
	for path, want := range map[string]string{"a.jpg": `unsupported chart format "jpg"`, "noext": "no file extension"} {
		if _, err := FormatOf(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("FormatOf(%q) error %v, want %q", path, err, want)
		}
	}
}

// TestLoadStyle: curves with a Style share colours as told; by position,
// the second curve takes the second colour.
func TestLoadStyle(t *testing.T) {
	hex := func(i int) string {
		r, g, b, _ := plotutil.Color(i).RGBA()
		return fmt.Sprintf("#%02X%02X%02X", r>>8, g>>8, b>>8)
	}
	curves := loadCurves()
	var byPos, styled bytes.Buffer
	if err := Load(&byPos, "svg", "t", curves); err != nil {
		t.Fatal(err)
	}
	curves[0].Style, curves[1].Style = &CurveStyle{Color: 2}, &CurveStyle{Color: 2, Dashes: 1}
	if err := Load(&styled, "svg", "t", curves); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(byPos.String(), "stroke:"+hex(1)) {
		t.Errorf("by position: no curve in %s", hex(1))
	}
	if strings.Contains(styled.String(), "stroke:"+hex(1)) || strings.Contains(styled.String(), "stroke:"+hex(0)) {
		t.Errorf("styled: a curve is not in %s", hex(2))
	}
	if !strings.Contains(styled.String(), "stroke:"+hex(2)) {
		t.Errorf("styled: no curve in %s", hex(2))
	}
	curves[0].Style = &CurveStyle{Color: -1}
	if err := Load(io.Discard, "svg", "t", curves); err == nil {
		t.Error("a negative style index is accepted")
	}
}
