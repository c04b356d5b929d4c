package trace

import (
	"strings"
	"testing"
	"unsafe"
)

func TestAttrKeyNames(t *testing.T) {
	seen := map[string]bool{}
	for k := AttrKey(0); k < NumAttrKeys; k++ {
		name := k.String()
		if name == "" || seen[name] {
			t.Fatalf("key %d: name %q empty or repeated", k, name)
		}
		seen[name] = true
		got, ok := LookupAttrKey([]byte(name))
		if !ok || got != k {
			t.Errorf("LookupAttrKey(%q) = %v, %v; want %v", name, got, ok, k)
		}
	}
	// The list the issue fixes, plus host.ip for the mapped address fields.
	want := "service.peer.name peer.service db.system.name db.system db.namespace db.name messaging.system " +
		"messaging.destination.name rpc.system rpc.service server.address server.port net.peer.name net.peer.port " +
		"network.peer.address network.peer.port client.address client.port http.route url.template " +
		"http.request.method http.method host.name host.id host.ip"
	for _, name := range strings.Fields(want) {
		if !seen[name] {
			t.Errorf("%s is not kept", name)
		}
	}
	if len(seen) != len(strings.Fields(want)) {
		t.Errorf("%d keys kept, want %d", len(seen), len(strings.Fields(want)))
	}
	for _, name := range []string{"", "db", "peer.hostname", "http.url", "service.name", "Peer.Service", "host.name "} {
		if _, ok := LookupAttrKey([]byte(name)); ok {
			t.Errorf("LookupAttrKey(%q) accepted", name)
		}
	}
	if !AttrServerPort.IsPort() || !AttrClientPort.IsPort() || AttrServerAddress.IsPort() {
		t.Error("IsPort")
	}
}

func TestAttrsGetAndAll(t *testing.T) {
	a := MakeAttrs("server.port", "5432", "service.peer.name", "orders-db", "host.ip", "10.0.0.1", "db.system", "postgresql")
	for k := AttrKey(0); k < NumAttrKeys; k++ {
		want := map[AttrKey]string{AttrServerPort: "5432", AttrServicePeerName: "orders-db", AttrHostIP: "10.0.0.1", AttrDBSystem: "postgresql"}[k]
		if got := a.Get(k); got != want {
			t.Errorf("Get(%v) = %q, want %q", k, got, want)
		}
		if a.Has(k) != (want != "") {
			t.Errorf("Has(%v) = %v", k, a.Has(k))
		}
	}
	if a.Len() != 4 || a.IsEmpty() {
		t.Errorf("Len %d", a.Len())
	}
	if got := a.String(); got != `{service.peer.name="orders-db" db.system="postgresql" server.port="5432" host.ip="10.0.0.1"}` {
		t.Errorf("String = %s", got)
	}
	var empty Attrs
	if !empty.IsEmpty() || empty.Len() != 0 || empty.Get(AttrHostIP) != "" || empty.String() != "{}" || empty.Has(AttrHostIP) {
		t.Error("zero Attrs is not the empty set")
	}
	if MakeAttrs() != empty || MakeAttrs("host.ip", "") != empty {
		t.Error("an empty set must be the zero value, so that == works")
	}
	if a.Get(NumAttrKeys) != "" || a.Has(NumAttrKeys+3) {
		t.Error("out-of-range key")
	}
}

// TestAttrsEquality: equal content is an equal handle, whatever the order
// values were set in and whoever made the set, so Span values compare
// with == as before.
func TestAttrsEquality(t *testing.T) {
	a := MakeAttrs("peer.service", "x", "host.name", "h")
	b := MakeAttrs("host.name", "h", "peer.service", "x")
	var bl AttrBuilder
	bl.Set(AttrHostName, []byte("h"))
	bl.SetString(AttrPeerService, "x")
	c := (&Collector{}).Attrs(&bl)
	if a != b || a != c {
		t.Errorf("equal sets differ: %v %v %v", a, b, c)
	}
	if a == MakeAttrs("peer.service", "x") || a == MakeAttrs("peer.service", "x", "host.name", "H") {
		t.Error("different sets compare equal")
	}
	s1, s2 := Span{Service: "a", Attrs: a}, Span{Service: "a", Attrs: c}
	if s1 != s2 {
		t.Error("spans with equal attributes differ")
	}
	if unsafe.Sizeof(Span{}) > 136 {
		t.Errorf("Span is %d bytes; Attrs may cost 8", unsafe.Sizeof(Span{}))
	}
}

func TestAttrBuilder(t *testing.T) {
	var b AttrBuilder
	buf := []byte("first")
	b.Set(AttrPeerService, buf)
	b.Set(AttrPeerService, []byte("second")) // first value wins
	b.SetInt(AttrServerPort, 8080)
	b.SetFloat(AttrClientPort, 51234)
	b.SetFloat(AttrNetPeerPort, 1.5)
	b.SetBool(AttrRPCSystem, true)
	b.Set(AttrHostName, nil)                                     // empty: ignored
	b.Set(AttrHostID, []byte(strings.Repeat("x", MaxAttrLen+1))) // too long: ignored
	b.AddAttrs(MakeAttrs("peer.service", "third", "db.name", "orders"))
	c := &Collector{}
	a := c.Attrs(&b)
	if again := c.Attrs(&b); again != a {
		t.Error("cached set differs")
	}
	buf[0] = 'F' // the set copied the referenced bytes
	want := MakeAttrs("peer.service", "first", "server.port", "8080", "client.port", "51234", "net.peer.port", "1.5",
		"rpc.system", "true", "db.name", "orders")
	if a != want {
		t.Errorf("got %v\nwant %v", a, want)
	}
	b.Reset()
	if !b.IsEmpty() || c.Attrs(&b) != (Attrs{}) {
		t.Error("Reset did not empty the builder")
	}
	// Allocation: a set seen before costs nothing.
	b.SetString(AttrDBSystem, "mysql")
	c.Attrs(&b)
	if n := testing.AllocsPerRun(100, func() { c.Attrs(&b) }); n != 0 {
		t.Errorf("a repeated set allocates %v times", n)
	}
}

func TestAttrsWith(t *testing.T) {
	span := MakeAttrs("server.address", "db-1", "host.name", "span-host")
	res := MakeAttrs("host.name", "resource-host", "host.id", "i-123")
	got := span.With(res)
	if got != MakeAttrs("server.address", "db-1", "host.name", "span-host", "host.id", "i-123") {
		t.Errorf("With = %v", got)
	}
	c := &Collector{}
	if c.MergeAttrs(span, res) != got || c.MergeAttrs(Attrs{}, res) != res || c.MergeAttrs(span, Attrs{}) != span {
		t.Error("MergeAttrs differs from With")
	}
}

func TestMakeAttrsPanics(t *testing.T) {
	for _, kv := range [][]string{{"peer.service"}, {"not.kept", "x"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("MakeAttrs(%q) did not panic", kv)
				}
			}()
			MakeAttrs(kv...)
		}()
	}
}

// TestAssembleKeepsAttrs: exact copies must agree on attributes to be
// dropped, and a fragment's attributes join the span it is merged into.
func TestAssembleKeepsAttrs(t *testing.T) {
	base := Span{TraceID: TraceID{Low: 1}, ID: 1, Service: "a", Name: "op", Kind: KindServer, Start: 10, Duration: 5}
	other := base
	other.Attrs = MakeAttrs("http.route", "/x")
	frag := Span{TraceID: TraceID{Low: 1}, ID: 2, Service: "a", Name: "op", Kind: KindClient, Start: 11, Duration: 1,
		Attrs: MakeAttrs("peer.service", "db", "host.name", "h1")}
	fragEnd := Span{TraceID: TraceID{Low: 1}, ID: 2, Service: "a", Kind: KindClient, Flags: FlagNoStart,
		Attrs: MakeAttrs("peer.service", "other", "server.port", "5432")}
	c := &Collector{Spans: []Span{base, other, frag, fragEnd}}
	r, err := Assemble(t.Context(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Quality.DuplicateSpans != 0 || r.Quality.DuplicateIDs != 1 || r.Quality.MergedFragments != 1 {
		t.Errorf("quality %+v", r.Quality)
	}
	for _, s := range r.Spans {
		if s.ID == 2 && s.Attrs != MakeAttrs("peer.service", "db", "host.name", "h1", "server.port", "5432") {
			t.Errorf("merged fragment attrs %v", s.Attrs)
		}
	}
}
