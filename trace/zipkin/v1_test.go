package zipkin

import (
	"strings"
	"testing"

	"github.com/tracesim/tracesim/trace"
)

func ep(svc, ip string) string {
	return `{"serviceName":"` + svc + `","ipv4":"` + ip + `","port":80}`
}

func ann(ts, value, endpoint string) string {
	if endpoint == "" {
		return `{"timestamp":` + ts + `,"value":"` + value + `"}`
	}
	return `{"timestamp":` + ts + `,"value":"` + value + `","endpoint":` + endpoint + `}`
}

func bin(key, value, endpoint string) string {
	if endpoint == "" {
		return `{"key":"` + key + `","value":` + value + `}`
	}
	return `{"key":"` + key + `","value":` + value + `,"endpoint":` + endpoint + `}`
}

func v1(id, parent, extra string, anns, bins []string) string {
	s := `{"traceId":"00000000000000aa","id":"` + id + `","name":"op"`
	if parent != "" {
		s += `,"parentId":"` + parent + `"`
	}
	if extra != "" {
		s += "," + extra
	}
	s += `,"annotations":[` + strings.Join(anns, ",") + `]`
	if bins != nil {
		s += `,"binaryAnnotations":[` + strings.Join(bins, ",") + `]`
	}
	return s + "}"
}

func TestV1Conversion(t *testing.T) {
	A, B, K := ep("a", "10.0.0.1"), ep("b", "10.0.0.2"), ep("kafka", "10.0.0.9")
	tid := trace.TraceID{Low: 0xaa}
	type sp = trace.Span
	tests := []struct {
		name string
		in   string
		want []trace.Span
		find []string // finding reasons
	}{
		{"one object, both sides: client + shared server",
			"[" + v1("01", "", `"timestamp":100,"duration":50`,
				[]string{ann("100", "cs", A), ann("110", "sr", B), ann("140", "ss", B), ann("150", "cr", A)}, nil) + "]",
			[]sp{
				{Service: "a", Instance: "10.0.0.1:80", Kind: trace.KindClient, Start: 100_000, Duration: 50_000},
				{Service: "b", Instance: "10.0.0.2:80", Kind: trace.KindServer, Start: 110_000, Duration: 30_000, Flags: trace.FlagShared},
			}, nil},
		{"loopback: same service on both sides still gives two spans",
			"[" + v1("01", "", "", []string{ann("100", "cs", A), ann("110", "sr", A), ann("140", "ss", A), ann("150", "cr", A)}, nil) + "]",
			[]sp{
				{Service: "a", Instance: "10.0.0.1:80", Kind: trace.KindClient, Start: 100_000, Duration: 50_000},
				{Service: "a", Instance: "10.0.0.1:80", Kind: trace.KindServer, Start: 110_000, Duration: 30_000, Flags: trace.FlagShared},
			}, nil},
		{"halves in separate objects merge; the client's timing wins over a skewed server's",
			"[" + v1("01", "", `"timestamp":95,"duration":40`, []string{ann("95", "sr", B), ann("135", "ss", B)}, nil) + "," +
				v1("01", "", `"timestamp":100,"duration":50`, []string{ann("100", "cs", A), ann("150", "cr", A)}, nil) + "]",
			[]sp{
				{Service: "b", Instance: "10.0.0.2:80", Kind: trace.KindServer, Start: 95_000, Duration: 40_000, Flags: trace.FlagShared},
				{Service: "a", Instance: "10.0.0.1:80", Kind: trace.KindClient, Start: 100_000, Duration: 50_000},
			}, nil},
		{"server alone without timestamp is the shared half",
			"[" + v1("01", "02", "", []string{ann("110", "sr", B), ann("140", "ss", B)}, nil) + "]",
			[]sp{{ParentID: 2, Service: "b", Instance: "10.0.0.2:80", Kind: trace.KindServer, Start: 110_000, Duration: 30_000, Flags: trace.FlagShared}}, nil},
		{"server alone with timestamp owns its span",
			"[" + v1("01", "", `"timestamp":110,"duration":30`, []string{ann("110", "sr", B), ann("140", "ss", B)}, nil) + "]",
			[]sp{{Service: "b", Instance: "10.0.0.2:80", Kind: trace.KindServer, Start: 110_000, Duration: 30_000}}, nil},
		{"client with sa: peer is the server address's service",
			"[" + v1("01", "", "", []string{ann("100", "cs", A), ann("150", "cr", A)}, []string{bin("sa", "true", ep("mysql", "10.0.0.3")), bin("error", `"timeout"`, A)}) + "]",
			[]sp{{Service: "a", Instance: "10.0.0.1:80", Peer: "mysql", Kind: trace.KindClient, Start: 100_000, Duration: 50_000, Flags: trace.FlagError,
				Attrs: trace.MakeAttrs("network.peer.address", "10.0.0.3", "network.peer.port", "80")}}, nil},
		{"kept binary annotations are attributes of their endpoint's span; numbers as text",
			"[" + v1("01", "", "", []string{ann("100", "cs", A), ann("110", "sr", B), ann("140", "ss", B), ann("150", "cr", A)},
				[]string{bin("peer.service", `"billing"`, A), bin("server.port", "8080", A), bin("http.route", `"/pay"`, B), bin("http.url", `"/x"`, A)}) + "]",
			[]sp{
				{Service: "a", Instance: "10.0.0.1:80", Kind: trace.KindClient, Start: 100_000, Duration: 50_000,
					Attrs: trace.MakeAttrs("peer.service", "billing", "server.port", "8080")},
				{Service: "b", Instance: "10.0.0.2:80", Kind: trace.KindServer, Start: 110_000, Duration: 30_000, Flags: trace.FlagShared,
					Attrs: trace.MakeAttrs("http.route", "/pay")},
			}, nil},
		{"server with ca: peer is the caller, unless it names the server itself",
			"[" + v1("01", "", `"timestamp":110,"duration":30`, []string{ann("110", "sr", B), ann("140", "ss", B)}, []string{bin("ca", "true", ep("a", "10.0.0.1"))}) + "," +
				v1("02", "", `"timestamp":110,"duration":30`, []string{ann("110", "sr", B), ann("140", "ss", B)}, []string{bin("ca", "true", ep("b", "10.0.0.7"))}) + "]",
			[]sp{
				{Service: "b", Instance: "10.0.0.2:80", Peer: "a", Kind: trace.KindServer, Start: 110_000, Duration: 30_000,
					Attrs: trace.MakeAttrs("network.peer.address", "10.0.0.1", "network.peer.port", "80")},
				{ID: 2, Service: "b", Instance: "10.0.0.2:80", Kind: trace.KindServer, Start: 110_000, Duration: 30_000, Record: 2,
					Attrs: trace.MakeAttrs("network.peer.address", "10.0.0.7", "network.peer.port", "80")},
			}, nil},
		{"producer and consumer in separate objects, broker from ma",
			"[" + v1("01", "", "", []string{ann("100", "ms", A)}, []string{bin("ma", "true", K)}) + "," +
				v1("02", "01", "", []string{ann("130", "wr", B), ann("160", "mr", B)}, []string{bin("ma", "true", K)}) + "]",
			[]sp{
				{Service: "a", Instance: "10.0.0.1:80", Peer: "kafka", Kind: trace.KindProducer, Start: 100_000, Flags: trace.FlagNoDuration,
					Attrs: trace.MakeAttrs("network.peer.address", "10.0.0.9", "network.peer.port", "80")},
				{ID: 2, ParentID: 1, Service: "b", Instance: "10.0.0.2:80", Peer: "kafka", Kind: trace.KindConsumer, Start: 130_000, Duration: 30_000, Record: 2,
					Attrs: trace.MakeAttrs("network.peer.address", "10.0.0.9", "network.peer.port", "80")},
			}, nil},
		{"ms and mr in one object: producer + shared consumer",
			"[" + v1("01", "", "", []string{ann("100", "ms", A), ann("101", "ws", A), ann("160", "mr", B)}, nil) + "]",
			[]sp{
				{Service: "a", Instance: "10.0.0.1:80", Kind: trace.KindProducer, Start: 100_000, Duration: 1_000},
				{Service: "b", Instance: "10.0.0.2:80", Kind: trace.KindConsumer, Start: 160_000, Flags: trace.FlagShared | trace.FlagNoDuration},
			}, nil},
		{"lc names the service of a local span",
			"[" + v1("01", "", `"timestamp":100,"duration":7`, nil, []string{bin("lc", `"cache"`, A)}) + "]",
			[]sp{{Service: "a", Instance: "10.0.0.1:80", Kind: trace.KindInternal, Start: 100_000, Duration: 7_000}}, nil},
		{"error annotation marks its endpoint's span; other annotations do not fork spans",
			"[" + v1("01", "", "", []string{ann("100", "cs", A), ann("120", "error", A), ann("125", "wire send", ""), ann("150", "cr", A)}, nil) + "]",
			[]sp{{Service: "a", Instance: "10.0.0.1:80", Kind: trace.KindClient, Start: 100_000, Duration: 50_000, Flags: trace.FlagError}}, nil},
		{"core annotation without endpoint is not core",
			"[" + v1("01", "", `"timestamp":100,"duration":9`, []string{ann("100", "cs", "")}, []string{bin("http.path", `"/"`, "")}) + "]",
			[]sp{{Service: trace.UnknownService, Kind: trace.KindInternal, Start: 100_000, Duration: 9_000, Flags: trace.FlagNoService}}, nil},
		{"cr only, span timing shows the start",
			"[" + v1("01", "", `"timestamp":100,"duration":50`, []string{ann("150", "cr", A)}, nil) + "]",
			[]sp{{Service: "a", Instance: "10.0.0.1:80", Kind: trace.KindClient, Start: 100_000, Duration: 50_000}}, nil},
		{"end before start is a bad duration",
			"[" + v1("01", "", "", []string{ann("140", "sr", B), ann("110", "ss", B)}, nil) + "]",
			nil, []string{"bad duration"}},
		{"annotation timestamp not a number skips the object",
			"[" + v1("01", "", "", []string{ann(`"x"`, "sr", B)}, nil) + "," + v1("02", "", "", []string{ann("1", "sr", B), ann("2", "ss", B)}, nil) + "]",
			[]sp{{ID: 2, Service: "b", Instance: "10.0.0.2:80", Kind: trace.KindServer, Start: 1_000, Duration: 1_000, Flags: trace.FlagShared, Record: 2}},
			[]string{"bad timestamp"}},
		{"v1 batches and v2 spans mixed: v2 first, v1 after the merge",
			"[[" + v1("01", "", "", []string{ann("110", "sr", B), ann("140", "ss", B)}, nil) + "],[" +
				`{"traceId":"aa","id":"09","name":"op","kind":"CLIENT","timestamp":1,"duration":1,"localEndpoint":{"serviceName":"c"}}` + "],[" +
				v1("01", "", `"timestamp":100,"duration":50`, []string{ann("100", "cs", A), ann("150", "cr", A)}, nil) + "]]",
			[]sp{
				{ID: 9, Service: "c", Kind: trace.KindClient, Start: 1_000, Duration: 1_000, Record: 2},
				{Service: "b", Instance: "10.0.0.2:80", Kind: trace.KindServer, Start: 110_000, Duration: 30_000, Flags: trace.FlagShared},
				{Service: "a", Instance: "10.0.0.1:80", Kind: trace.KindClient, Start: 100_000, Duration: 50_000},
			}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := decodeBytes(t, "v1.json", []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Spans) != len(tc.want) {
				for i := range c.Spans {
					t.Log(goldenLine(&c.Spans[i]))
				}
				t.Fatalf("%d spans, want %d; findings %v", len(c.Spans), len(tc.want), c.Findings)
			}
			for i, w := range tc.want {
				w.TraceID = tid
				if w.ID == 0 {
					w.ID = 1
				}
				if w.Name == "" {
					w.Name = "op"
				}
				if w.Record == 0 {
					w.Record = 1
				}
				if w.Kind == trace.KindUnspecified {
					w.Kind = trace.KindInternal
				}
				if host, _, ok := strings.Cut(w.Instance, ":"); ok {
					// The local endpoint's address is host.ip.
					w.Attrs = w.Attrs.With(trace.MakeAttrs("host.ip", host))
				}
				if g := c.Spans[i]; g != w {
					t.Errorf("span %d:\n got %s\nwant %s", i, goldenLine(&g), goldenLine(&w))
				}
			}
			var reasons []string
			for _, f := range c.Findings {
				reasons = append(reasons, f.Reason)
			}
			if strings.Join(reasons, ",") != strings.Join(tc.find, ",") {
				t.Errorf("findings %v, want reasons %v", c.Findings, tc.find)
			}
		})
	}
}
