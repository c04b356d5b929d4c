package analysis

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tracesim/tracesim/trace"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/")

// flowFixture: two traces of front/GET /x (one calls users twice, the
// other once; both query mysql, an uninstrumented peer; one fires an
// async audit call) and one trace of front/GET /y.
func flowFixture(t *testing.T) []trace.Trace {
	t.Helper()
	const (
		srv = trace.KindServer
		cli = trace.KindClient
	)
	spans := hsSpans(1,
		hs{id: 1, op: "front/GET /x", start: 0, end: 100, kind: srv},
		hs{id: 2, parent: 1, op: "front/GetUser", start: 10, end: 40, kind: cli},
		hs{id: 3, parent: 2, op: "users/GetUser", start: 12, end: 38, kind: srv},
		hs{id: 4, parent: 1, op: "front/GetUser", start: 45, end: 60, kind: cli},
		hs{id: 5, parent: 4, op: "users/GetUser", start: 46, end: 59, kind: srv},
		hs{id: 6, parent: 1, op: "front/SELECT", start: 61, end: 70, kind: cli, peer: "mysql"},
		hs{id: 7, parent: 1, op: "audit/Log", start: 90, end: 130, kind: srv},
	)
	spans = append(spans, hsSpans(2,
		hs{id: 1, op: "front/GET /x", start: 1000, end: 1050, kind: srv},
		hs{id: 2, parent: 1, op: "front/GetUser", start: 1010, end: 1030, kind: cli},
		hs{id: 3, parent: 2, op: "users/GetUser", start: 1011, end: 1029, kind: srv},
		hs{id: 4, parent: 1, op: "front/SELECT", start: 1031, end: 1035, kind: cli, peer: "mysql"},
	)...)
	spans = append(spans, hsSpans(3,
		hs{id: 1, op: "front/GET /y", start: 2000, end: 2010, kind: srv},
		hs{id: 2, parent: 1, op: "front/SELECT", start: 2001, end: 2003, kind: cli, peer: "mysql"},
	)...)
	return hsAssemble(t, spans).Traces
}

func TestBuildFlows(t *testing.T) {
	flows := BuildFlows(flowFixture(t))
	if len(flows) != 2 || flows[0].Endpoint != "front/GET /x" || flows[0].Traces != 2 || flows[1].Endpoint != "front/GET /y" {
		t.Fatalf("flows %+v", flows)
	}
	f := flows[0]
	var ops []string
	for _, n := range f.Nodes {
		ops = append(ops, n.Operation+" "+n.Kind)
	}
	wantOps := []string{"audit/Log server", "front/GET /x server", "front/GetUser client", "front/SELECT client", "mysql peer", "users/GetUser server"}
	if len(ops) != len(wantOps) {
		t.Fatalf("nodes %v, want %v", ops, wantOps)
	}
	for i := range ops {
		if ops[i] != wantOps[i] {
			t.Fatalf("nodes %v, want %v", ops, wantOps)
		}
	}
	// front/GET /x → front/GetUser: 3 calls in 2 traces, 30, 15 and 20 ms.
	var found bool
	for _, e := range f.Edges {
		if f.Nodes[e.From].Operation == "front/GET /x" && f.Nodes[e.To].Operation == "front/GetUser" {
			found = true
			if e.Calls != 3 || e.CallsPerTrace != 1.5 || e.Latency.P50 != 20 || e.Latency.Mean != 21.666667 || e.AsyncCalls != 0 {
				t.Errorf("edge %+v", e)
			}
		}
		if f.Nodes[e.To].Operation == "audit/Log" && e.AsyncCalls != 1 {
			t.Errorf("audit edge not async: %+v", e)
		}
		if f.Nodes[e.To].Kind == PeerKind && (f.Nodes[e.From].Operation != "front/SELECT" || e.Calls != 2) {
			t.Errorf("peer edge %+v", e)
		}
	}
	if !found {
		t.Error("no front/GET /x → front/GetUser edge")
	}
}

// TestFlowDOTGolden: the DOT output is stable byte for byte (run with
// -update to rewrite testdata/flow.dot after an intended change).
func TestFlowDOTGolden(t *testing.T) {
	flows := BuildFlows(flowFixture(t))
	got, err := FlowDOT(flows)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := FlowDOT(BuildFlows(flowFixture(t)))
	if !bytes.Equal(got, again) {
		t.Fatal("DOT output differs between two runs")
	}
	checkGolden(t, "flow.dot", got)

	one, err := FlowDOT(flows[:1])
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "flow-one.dot", one)
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s", path, got)
	}
}

func TestFlowSVG(t *testing.T) {
	if _, err := exec.LookPath("dot"); err != nil {
		t.Skip("Graphviz dot is not on PATH (apt-get install graphviz); SVG rendering not tested")
	}
	src, err := FlowDOT(BuildFlows(flowFixture(t)))
	if err != nil {
		t.Fatal(err)
	}
	svg, err := RenderSVG(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	checkXML(t, svg)
	if !bytes.Contains(svg, []byte("users/GetUser")) {
		t.Error("SVG lacks a node label")
	}
}

func TestFlowSVGWithoutGraphviz(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := RenderSVG(context.Background(), []byte("digraph {}"))
	if !errors.Is(err, ErrNoGraphviz) {
		t.Fatalf("err %v, want ErrNoGraphviz", err)
	}
	if !bytes.Contains([]byte(err.Error()), []byte("apt-get install graphviz")) {
		t.Errorf("error does not say how to install Graphviz: %v", err)
	}
}

// checkXML parses doc to the end with encoding/xml.
func checkXML(t *testing.T, doc []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	// Graphviz writes a DOCTYPE with an external DTD; the decoder skips
	// it, entity references in it are not used.
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%.500s", err, doc)
		}
	}
}
