package plot

import (
	"bytes"
	"context"
	"encoding/xml"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracesim/tracesim/internal/cmdutil"
	"github.com/tracesim/tracesim/internal/hist"
)

func testIO() (*cmdutil.IO, *bytes.Buffer) {
	var out bytes.Buffer
	return &cmdutil.IO{In: strings.NewReader(""), Out: &out, ErrOut: &out}, &out
}

// run executes the plot command with args.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	io, out := testIO()
	cmd := NewCmd(io)
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(out)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func readNonEmpty(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 {
		t.Fatalf("%s is empty", path)
	}
	return b
}

func svgText(t *testing.T, b []byte) string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return text.String()
		}
		if err != nil {
			t.Fatalf("SVG does not parse as XML: %v", err)
		}
		if cd, ok := tok.(xml.CharData); ok {
			text.Write(cd)
		}
	}
}

func TestCDF(t *testing.T) {
	dir := t.TempDir()
	svg := filepath.Join(dir, "cdf.svg")
	out, err := run(t, "cdf", "testdata/speedup-d.yaml", "-o", svg, "--endpoint", "c/z", "--duration", "20s", "--replications", "3")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "wrote "+svg) {
		t.Errorf("output %q does not name the file", out)
	}
	text := svgText(t, readNonEmpty(t, svg))
	for _, want := range []string{"faster-d: c/z latency CDF", "baseline", "predicted", "latency (ms)"} {
		if !strings.Contains(text, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}

	// Default endpoint (the first, a/x), tail, PNG.
	pngPath := filepath.Join(dir, "tail.png")
	if _, err := run(t, "cdf", "testdata/speedup-d.yaml", "-o", pngPath, "--tail", "--duration", "20s", "--replications", "3"); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(readNonEmpty(t, pngPath)))
	if err != nil {
		t.Fatalf("PNG does not decode: %v", err)
	}
	if s := img.Bounds().Size(); s.X != 960 || s.Y != 600 {
		t.Errorf("PNG is %v, want 960x600", s)
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "load.svg")
	if _, err := run(t, "load", "-m", "testdata/mm1.yaml", "--rates", "20:80:20", "-o", path, "--duration", "30s", "--replications", "3"); err != nil {
		t.Fatal(err)
	}
	text := svgText(t, readNonEmpty(t, path))
	for _, want := range []string{"latency vs offered load", "server/work p50", "server/work p99", "offered load (requests/s)"} {
		if !strings.Contains(text, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"cdf", "testdata/speedup-d.yaml", "-o", filepath.Join(dir, "a.svg"), "--endpoint", "c/zz", "--duration", "5s"},
			`no endpoint "c/zz" (did you mean "c/z"?); endpoints: a/x, c/z`},
		{[]string{"cdf", "testdata/speedup-d.yaml", "-o", filepath.Join(dir, "a.pdf")}, `unsupported chart format "pdf": want .png or .svg`},
		{[]string{"cdf", "testdata/speedup-d.yaml"}, "missing -o FILE"},
		{[]string{"load", "-m", "testdata/mm1.yaml", "--rates", "20:80:20"}, "missing -o FILE"},
		{[]string{"load", "-m", "testdata/mm1.yaml", "--rates", "20:80:20", "-o", filepath.Join(dir, "l")}, "no file extension"},
		{[]string{"load", "-m", "testdata/mm1.yaml", "--rates", "80:20:20", "-o", filepath.Join(dir, "l.png")}, "below start"},
		{[]string{"cdf", "testdata/missing.yaml", "-o", filepath.Join(dir, "m.png")}, "missing.yaml"},
	}
	for _, c := range cases {
		_, err := run(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("plot %v: error %v, want %q", c.args, err, c.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed runs left files: %v", entries)
	}
}

func TestCDFPoints(t *testing.T) {
	h := &hist.Hist{}
	for i := 1; i <= 10000; i++ {
		h.Record(int64(i) * int64(time.Millisecond))
	}
	for _, tail := range []bool{false, true} {
		pts := cdfPoints(h, tail)
		if len(pts) != CDFPoints {
			t.Fatalf("tail=%v: %d points, want %d", tail, len(pts), CDFPoints)
		}
		for i := 1; i < len(pts); i++ {
			if pts[i].X < pts[i-1].X || pts[i].Y <= pts[i-1].Y {
				t.Fatalf("tail=%v: points %d..%d not increasing: %v %v", tail, i-1, i, pts[i-1], pts[i])
			}
		}
		last := pts[len(pts)-1]
		wantY := 0.999
		if tail {
			wantY = 0.9999
		}
		if math.Abs(last.Y-wantY) > 1e-9 || math.Abs(last.X-wantY*10000) > 2 {
			t.Errorf("tail=%v: last point %v, want about (%v ms, %v)", tail, last, wantY*10000, wantY)
		}
	}
}
