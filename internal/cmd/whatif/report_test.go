package whatif

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReport(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.html")
	o := Options{Scenarios: []string{"testdata/speedup-d.yaml", "../../../examples/scenarios/replay-cache.yaml"}, Report: path, Replications: 3, Duration: 20 * time.Second}
	out, err := run(t, o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "scenario faster-d (3 paired replications, seed 3)") {
		t.Errorf("the tables are not printed:\n%s", out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{
		"<title>What-if report: 2 scenarios</title>", "<h2>Scenario: faster-d</h2>", "<dd>testdata/speedup-d.yaml</dd>", "<dd>testdata/two.yaml</dd>",
		"Multiply the local work of service d&#39;s operations by 0.5 (2× as fast).",
		`<td class="ep" rowspan="3">a/x</td>`, `<td class="ep" rowspan="3">c/z</td>`,
		"open loop at the model&#39;s entry rates, 20s simulated (after 2s warm-up) per replication",
		"c/z: latency vs offered load (95% bands)", "at 0.5×, 0.75×, 1×, 1.25×, 1.5× the scenario&#39;s offered load (100 requests/s), 3 paired replications of 20s each",
		// The replay scenario: no sweep, the flow of the recording.
		"<h2>Scenario: replay-cache-item-lookups</h2>", "Not drawn: a replay scenario replays the recorded arrivals",
		"Flow of the 300 traces recorded in",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if n := strings.Count(page, "<section id=\"scenario-"); n != 2 {
		t.Errorf("%d scenario sections, want 2", n)
	}
	// Same inputs and seed, same bytes.
	o.Report = filepath.Join(dir, "again.html")
	if _, err := run(t, o); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(o.Report); !bytes.Equal(again, b) {
		t.Error("the same report written twice differs")
	}
	// A failing scenario writes no report.
	bad := Options{Scenarios: []string{"testdata/typo.yaml"}, Report: filepath.Join(dir, "bad.html")}
	if _, err := run(t, bad); err == nil || !strings.Contains(err.Error(), "typo.yaml") {
		t.Errorf("typo.yaml: %v", err)
	}
	if _, err := os.Stat(bad.Report); err == nil {
		t.Error("a failed run wrote a report")
	}
}

// chromiumArgs are the flags for a headless Chromium that talks to no
// network and keeps its profile in dir.
func chromiumArgs(dir string) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir=" + dir}
}

// TestReportInBrowser renders a report in headless Chromium: the DOM the
// browser builds holds the table rows and the inline charts, and a
// screenshot of the page is not blank.
func TestReportInBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed: apt-get install chromium")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "r.html")
	if _, err := run(t, Options{Scenarios: []string{"testdata/speedup-d.yaml"}, Report: path, Replications: 3, Duration: 20 * time.Second}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	url := "file://" + path

	dom, err := exec.CommandContext(ctx, chromium, append(chromiumArgs(t.TempDir()), "--dump-dom", url)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	for _, want := range []string{
		`<td class="ep" rowspan="3">a/x</td>`, `<td class="ep" rowspan="3">c/z</td>`, `<td class="run">predicted</td>`,
		`<figure class="chart cdf"><svg`, `<figure class="chart load"><svg`, "a/x latency CDF", "c/z latency CDF",
	} {
		if !bytes.Contains(dom, []byte(want)) {
			t.Errorf("the rendered DOM lacks %q", want)
		}
	}
	if n := bytes.Count(dom, []byte(`<tr class="pred">`)); n != 2 {
		t.Errorf("the rendered DOM has %d predicted rows, want 2", n)
	}
	if _, err := exec.LookPath("dot"); err == nil && !bytes.Contains(dom, []byte(`<figure class="chart flow"><svg`)) {
		t.Error("the rendered DOM lacks the flow graph")
	}

	shot := filepath.Join(dir, "shot.png")
	cmd := exec.CommandContext(ctx, chromium, append(chromiumArgs(t.TempDir()), "--screenshot="+shot, "--window-size=1280,2000", url)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	bounds := img.Bounds()
	if bounds.Dx() != 1280 || bounds.Dy() != 2000 {
		t.Errorf("screenshot is %v, want 1280x2000", bounds.Size())
	}
	ink := 0
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			if r, g, b, _ := img.At(x, y).RGBA(); r < 0xF000 || g < 0xF000 || b < 0xF000 {
				ink++
			}
		}
	}
	// Text, table lines and two charts: a few percent of the pixels.
	if frac := float64(ink) / float64(bounds.Dx()*bounds.Dy()); frac < 0.02 {
		t.Errorf("the screenshot is almost blank: %.2f%% of pixels are not white", 100*frac)
	} else {
		t.Logf("%.1f%% of the screenshot's pixels are not white", 100*frac)
	}
	if keep := os.Getenv("TRACESIM_KEEP_SCREENSHOT"); keep != "" {
		if b, err := os.ReadFile(shot); err == nil {
			_ = os.WriteFile(keep, b, 0o644)
		}
	}
}
