package plot

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdata/fanout-traces.json: 4 traces of web/GET /home (7 spans each:
// db/Query and cache/Get called in parallel, then auth/Check), emitted by
// `tracesim simulate -m testdata/fanout.yaml --requests 20 --replications 1
// --emit-traces testdata/fanout-traces.json --emit-max 4`.
const fanout = "testdata/fanout-traces.json"

func TestGantt(t *testing.T) {
	dir := t.TempDir()
	svg := filepath.Join(dir, "g.svg")
	out, err := run(t, "gantt", fanout, "--trace", "0000000000000003", "--out", svg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "wrote "+svg) {
		t.Errorf("output %q does not name the file", out)
	}
	b := readNonEmpty(t, svg)
	text := svgText(t, b)
	for _, want := range []string{"trace 0000000000000003  web/GET /home", "7 spans (critical path highlighted)",
		"web/GET /home", "db/Query", "cache/Get", "auth/Check", "web/Query (client)", "on the critical path", "time since the trace's first span (ms)"} {
		if !strings.Contains(text, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	// The root, db/Query, auth/Check and their client spans are on the
	// path (5 bars + the legend swatch); cache/Get and its client span
	// are not (2 + 1).
	if n := bytes.Count(b, []byte(`style="fill:#D55E00"`)); n != 6 {
		t.Errorf("%d bars and swatches on the path, want 5 + 1", n)
	}
	if n := bytes.Count(b, []byte(`style="fill:#56B4E9"`)); n != 3 {
		t.Errorf("%d bars and swatches off the path, want 2 + 1", n)
	}

	// The default trace is the slowest; PNG; -o as well as --out.
	p := filepath.Join(dir, "g.png")
	if _, err := run(t, "gantt", fanout, "-o", p); err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(readNonEmpty(t, p))); err != nil {
		t.Fatalf("PNG does not decode: %v", err)
	}
	// Same input, same bytes.
	again := filepath.Join(dir, "again.svg")
	if _, err := run(t, "gantt", fanout, "--trace", "0000000000000003", "-o", again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, readNonEmpty(t, again)) {
		t.Error("the same chart written twice differs")
	}
}

func TestCritPath(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		by   string
		want []string
	}{
		{"service", []string{"web", "db", "auth", "critical path by service (4 traces)"}},
		{"operation", []string{"web/GET /home", "db/Query", "auth/Check", "critical path by operation (4 traces of web/GET /home)"}},
	} {
		path := filepath.Join(dir, c.by+".svg")
		args := []string{"critpath", fanout, "--by", c.by, "--out", path}
		if c.by == "operation" {
			args = append(args, "--endpoint", "web/GET /home")
		}
		if _, err := run(t, args...); err != nil {
			t.Fatal(err)
		}
		text := svgText(t, readNonEmpty(t, path))
		for _, want := range append(c.want, "time on the critical path (ms per trace, mean over 4 traces)") {
			if !strings.Contains(text, want) {
				t.Errorf("--by %s: SVG lacks %q", c.by, want)
			}
		}
		// cache/Get always ran in parallel with the slower db/Query.
		if strings.Contains(text, "cache") {
			t.Errorf("--by %s: cache is drawn, but it is never on the critical path", c.by)
		}
	}
}

func TestTraceErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.svg")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"gantt", fanout, "--trace", "0000000000000009", "-o", out}, `trace "0000000000000009" not found among 4 traces (did you mean "0000000000000001"?)`},
		{[]string{"gantt", fanout, "--trace", "00000000", "-o", out}, `4 trace ids start with "00000000"`},
		{[]string{"gantt", fanout, "--trace", "ffff", "-o", out}, `no id is close; ids look like "0000000000000001"`},
		{[]string{"gantt", fanout}, "missing -o FILE"},
		{[]string{"gantt", "testdata/missing.json", "-o", out}, "missing.json"},
		{[]string{"critpath", fanout, "--by", "host", "-o", out}, `--by "host": want service or operation`},
		{[]string{"critpath", fanout, "--endpoint", "web/GET /hom", "-o", out}, `(did you mean "web/GET /home"?); endpoints: web/GET /home`},
		{[]string{"critpath", fanout, "-o", filepath.Join(dir, "x.pdf")}, `unsupported chart format "pdf"`},
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
