package analysis

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tracesim/tracesim/trace"
	"github.com/tracesim/tracesim/trace/load"
)

// peerSpans is issue #11's case: a testbed-style HTTP call whose client
// span names 127.0.0.1 but has the callee's server span below; a database
// and a cache known only by current semantic-convention attributes; and a
// client span reported by a tracer named after its component ("mysql").
func peerSpans() []trace.Span {
	spans := hsSpans(1,
		hs{id: 1, op: "frontend/GET /", start: 0, end: 100, kind: trace.KindServer},
		hs{id: 2, parent: 1, op: "frontend/GET /users", start: 10, end: 40, kind: trace.KindClient},
		hs{id: 3, parent: 2, op: "users/GET /users", start: 12, end: 38, kind: trace.KindServer},
		hs{id: 4, parent: 3, op: "users/SELECT", start: 15, end: 20, kind: trace.KindClient},
		hs{id: 5, parent: 1, op: "frontend/GET session", start: 50, end: 55, kind: trace.KindClient},
		hs{id: 6, parent: 1, op: "mysql/SELECT", start: 60, end: 70, kind: trace.KindClient},
	)
	spans[1].Attrs = trace.MakeAttrs("server.address", "127.0.0.1", "server.port", "8081")
	spans[3].Attrs = trace.MakeAttrs("db.system.name", "postgresql", "server.address", "127.0.0.1", "server.port", "5432")
	spans[4].Attrs = trace.MakeAttrs("service.peer.name", "session-cache", "db.system.name", "redis", "server.address", "127.0.0.1")
	spans[5].Attrs = trace.MakeAttrs("server.address", "10.0.0.5")
	return spans
}

func TestSummaryPeers(t *testing.T) {
	s := Summarize(hsAssemble(t, peerSpans()))
	if want := []string{"mysql", "postgresql", "session-cache"}; !slices.Equal(s.Peers, want) {
		t.Errorf("peers %v, want %v", s.Peers, want)
	}
	if want := []string{"frontend", "mysql", "users"}; !slices.Equal(s.Services, want) {
		t.Errorf("services %v, want %v", s.Services, want)
	}
}

func TestDependenciesPeers(t *testing.T) {
	var got []string
	for _, d := range Dependencies(hsAssemble(t, peerSpans()).Traces) {
		mark := ""
		if d.Uninstrumented {
			mark = "*"
		}
		got = append(got, d.From+">"+d.To+mark+"="+strings.Repeat("x", d.Calls))
	}
	// mysql is one edge (its span stands for the call), and uninstrumented:
	// it executes nothing of its own.
	want := []string{"frontend>mysql*=x", "frontend>session-cache*=x", "frontend>users=x", "users>postgresql*=x"}
	if !slices.Equal(got, want) {
		t.Errorf("deps %v, want %v", got, want)
	}
}

func TestFlowPeers(t *testing.T) {
	flows := BuildFlows(hsAssemble(t, peerSpans()).Traces)
	var peers []string
	for _, n := range flows[0].Nodes {
		if n.Kind == PeerKind {
			peers = append(peers, n.Operation)
		}
	}
	// The component's span is a node already; no peer node repeats it.
	if want := []string{"postgresql", "session-cache"}; !slices.Equal(peers, want) {
		t.Errorf("peer nodes %v, want %v", peers, want)
	}
}

// TestPeersOnSharedFixtures: on every shared fixture, the peers inspect
// lists are exactly the names trace.PeerName gives client and producer
// spans without a server or consumer span below (less services that run
// operations of their own), and an address or name carried by a client
// span whose callee reported its own server span is never listed because
// of it.
func TestPeersOnSharedFixtures(t *testing.T) {
	files, _ := filepath.Glob("../../shared/traces/*/*.json*")
	if len(files) == 0 {
		t.Skip("shared/traces fixtures not found beside the repository")
	}
	total := 0
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := load.Load(context.Background(), []string{f}, load.Options{})
			if err != nil {
				t.Fatal(err)
			}
			r, err := trace.Assemble(context.Background(), c, trace.Options{})
			if err != nil {
				t.Fatal(err)
			}
			named := map[string]bool{}     // names the rule gives
			executing := map[string]bool{} // services with server, consumer or root spans
			hidden := map[string]bool{}    // names on client spans with a server below
			for ti := range r.Traces {
				tr := &r.Traces[ti]
				for i := range tr.Spans {
					s := &tr.Spans[i]
					if tr.Parent[i] < 0 || trace.IsServerSide(s.Kind) {
						executing[s.Service] = true
					}
					if p := tr.PeerName(int32(i)); p != "" {
						named[p] = true
					} else if trace.IsClientSide(s.Kind) && tr.HasServerChild(int32(i)) {
						if n := trace.SpanPeerName(s); n != "" {
							hidden[n] = true
						}
					}
				}
			}
			var want []string
			for n := range named {
				if !executing[n] {
					want = append(want, n)
				}
			}
			slices.Sort(want)
			got := Summarize(r).Peers
			if !slices.Equal(got, want) && len(got)+len(want) > 0 {
				t.Errorf("inspect peers %q, the rule names %q", got, want)
			}
			for n := range hidden {
				if slices.Contains(got, n) && !named[n] {
					t.Errorf("%q is listed as a peer, but only client spans with a server below carry it", n)
				}
			}
			total += len(got)
		})
	}
	if total == 0 {
		t.Error("no fixture lists a peer: the test checks nothing")
	}
}
