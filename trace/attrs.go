package trace

import (
	"iter"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"unique"
	"unsafe"
)

// AttrKey names one span attribute that tracesim keeps. Every decoder
// reads the same fixed list (below), under its OpenTelemetry semantic
// convention name, from span attributes and from resource / process
// attributes alike (the span's own value wins). Everything else a span
// carries is dropped while decoding.
//
// A few format fields that are not attributes map to the nearest key:
//
//   - Jaeger process tag "hostname" → host.name; "ip" → host.ip;
//   - Zipkin localEndpoint.ipv4 (else ipv6) → host.ip, as the OpenTelemetry
//     Collector's Zipkin receiver maps it to the host's address (it used
//     net.host.ip, which semantic conventions replaced by host.ip for the
//     host and network.local.address for the socket);
//   - Zipkin remoteEndpoint.ipv4 (else ipv6) → network.peer.address and
//     remoteEndpoint.port → network.peer.port (the Collector's
//     net.peer.ip / net.peer.port, renamed so in semantic conventions 1.21);
//     v1 "sa", "ca" and "ma" endpoints are the remote endpoint likewise.
//
// Zipkin's remoteEndpoint.serviceName is kept in Span.Peer, not here.
type AttrKey uint8

// The kept attributes. The order is the order of a set's canonical
// encoding, nothing more.
const (
	AttrServicePeerName          AttrKey = iota // service.peer.name (semconv ≥ 1.39; replaces peer.service)
	AttrPeerService                             // peer.service
	AttrDBSystemName                            // db.system.name (semconv ≥ 1.30; replaces db.system)
	AttrDBSystem                                // db.system
	AttrDBNamespace                             // db.namespace (semconv ≥ 1.26; replaces db.name)
	AttrDBName                                  // db.name
	AttrMessagingSystem                         // messaging.system
	AttrMessagingDestinationName                // messaging.destination.name
	AttrRPCSystem                               // rpc.system
	AttrRPCService                              // rpc.service
	AttrServerAddress                           // server.address
	AttrServerPort                              // server.port
	AttrNetPeerName                             // net.peer.name (before semconv 1.21)
	AttrNetPeerPort                             // net.peer.port (before semconv 1.21)
	AttrNetworkPeerAddress                      // network.peer.address
	AttrNetworkPeerPort                         // network.peer.port
	AttrClientAddress                           // client.address
	AttrClientPort                              // client.port
	AttrHTTPRoute                               // http.route
	AttrURLTemplate                             // url.template
	AttrHTTPRequestMethod                       // http.request.method
	AttrHTTPMethod                              // http.method (before semconv 1.21)
	AttrHostName                                // host.name
	AttrHostID                                  // host.id
	AttrHostIP                                  // host.ip (Jaeger "ip", Zipkin localEndpoint address)

	// NumAttrKeys is the number of kept keys.
	NumAttrKeys
)

var attrKeyNames = [NumAttrKeys]string{
	"service.peer.name", "peer.service", "db.system.name", "db.system", "db.namespace", "db.name",
	"messaging.system", "messaging.destination.name", "rpc.system", "rpc.service",
	"server.address", "server.port", "net.peer.name", "net.peer.port",
	"network.peer.address", "network.peer.port", "client.address", "client.port",
	"http.route", "url.template", "http.request.method", "http.method",
	"host.name", "host.id", "host.ip",
}

// String returns the key's OpenTelemetry name.
func (k AttrKey) String() string {
	if k < NumAttrKeys {
		return attrKeyNames[k]
	}
	return "attr(" + strconv.Itoa(int(k)) + ")"
}

// IsPort reports whether the key holds a port number.
func (k AttrKey) IsPort() bool {
	switch k {
	case AttrServerPort, AttrNetPeerPort, AttrNetworkPeerPort, AttrClientPort:
		return true
	}
	return false
}

// LookupAttrKey returns the kept key with OpenTelemetry name name. It does
// not allocate: decoders call it for every attribute they read.
func LookupAttrKey(name []byte) (AttrKey, bool) {
	if len(name) < 7 { // the shortest kept name is "db.name"
		return 0, false
	}
	switch string(name) {
	case "service.peer.name":
		return AttrServicePeerName, true
	case "peer.service":
		return AttrPeerService, true
	case "db.system.name":
		return AttrDBSystemName, true
	case "db.system":
		return AttrDBSystem, true
	case "db.namespace":
		return AttrDBNamespace, true
	case "db.name":
		return AttrDBName, true
	case "messaging.system":
		return AttrMessagingSystem, true
	case "messaging.destination.name":
		return AttrMessagingDestinationName, true
	case "rpc.system":
		return AttrRPCSystem, true
	case "rpc.service":
		return AttrRPCService, true
	case "server.address":
		return AttrServerAddress, true
	case "server.port":
		return AttrServerPort, true
	case "net.peer.name":
		return AttrNetPeerName, true
	case "net.peer.port":
		return AttrNetPeerPort, true
	case "network.peer.address":
		return AttrNetworkPeerAddress, true
	case "network.peer.port":
		return AttrNetworkPeerPort, true
	case "client.address":
		return AttrClientAddress, true
	case "client.port":
		return AttrClientPort, true
	case "http.route":
		return AttrHTTPRoute, true
	case "url.template":
		return AttrURLTemplate, true
	case "http.request.method":
		return AttrHTTPRequestMethod, true
	case "http.method":
		return AttrHTTPMethod, true
	case "host.name":
		return AttrHostName, true
	case "host.id":
		return AttrHostID, true
	case "host.ip":
		return AttrHostIP, true
	}
	return 0, false
}

// MaxAttrLen is the longest attribute value kept; longer values are
// dropped. Nothing a kept key names (a peer, an address, a route, a host)
// is that long, and the bound keeps a set's encoding small.
const MaxAttrLen = 1024

// Attrs is an immutable set of kept attributes (see AttrKey), at most one
// value per key. The zero value is the empty set.
//
// A set is a handle to one canonical string made by the unique package, so
// Attrs is one pointer (8 bytes in a Span), equal sets are equal handles
// (== on Attrs, and on Span, compares content), sets repeat across spans
// at no cost, and a set no span refers to any more is garbage collected.
// Decoders build sets with an AttrBuilder and Collector.Attrs, which adds
// a per-collector cache in front of unique.Make.
//
// Memory: 8 bytes per span, plus about 270 bytes per distinct set (five
// attributes, cache and unique's index included). Most spans share their
// set with many others (same route, method, peer, host); ephemeral ports
// (client.port, network.peer.port on server spans) make one set per
// client connection, not per span, as connections are reused.
//
// The canonical string is: a little-endian uint32 mask of the keys present,
// then for each present key in key order the end offset of its value
// (little-endian uint16, relative to the start of the values), then the
// values back to back. Get is a popcount and two loads.
type Attrs struct {
	h unique.Handle[string]
}

// IsEmpty reports whether the set holds no attribute.
func (a Attrs) IsEmpty() bool { return a.h == unique.Handle[string]{} }

func (a Attrs) enc() string {
	if a.IsEmpty() {
		return ""
	}
	return a.h.Value()
}

func encMask(s string) uint32 {
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

func encOff(s string, i int) int { return int(s[i]) | int(s[i+1])<<8 }

// Get returns the value of key k, or "" when the set does not hold it.
func (a Attrs) Get(k AttrKey) string {
	if a.IsEmpty() || k >= NumAttrKeys {
		return ""
	}
	s := a.h.Value()
	mask := encMask(s)
	bit := uint32(1) << k
	if mask&bit == 0 {
		return ""
	}
	idx := bits.OnesCount32(mask & (bit - 1))
	hdr := 4 + 2*bits.OnesCount32(mask)
	start := 0
	if idx > 0 {
		start = encOff(s, 4+2*(idx-1))
	}
	return s[hdr+start : hdr+encOff(s, 4+2*idx)]
}

// Has reports whether the set holds key k.
func (a Attrs) Has(k AttrKey) bool {
	return !a.IsEmpty() && k < NumAttrKeys && encMask(a.h.Value())&(1<<k) != 0
}

// Len returns the number of attributes in the set.
func (a Attrs) Len() int {
	if a.IsEmpty() {
		return 0
	}
	return bits.OnesCount32(encMask(a.h.Value()))
}

// All yields the set's attributes in key order.
func (a Attrs) All() iter.Seq2[AttrKey, string] {
	return func(yield func(AttrKey, string) bool) {
		if a.IsEmpty() {
			return
		}
		s := a.h.Value()
		mask := encMask(s)
		hdr := 4 + 2*bits.OnesCount32(mask)
		start, idx := 0, 0
		for m := mask; m != 0; m &= m - 1 {
			k := AttrKey(bits.TrailingZeros32(m))
			end := encOff(s, 4+2*idx)
			if !yield(k, s[hdr+start:hdr+end]) {
				return
			}
			start = end
			idx++
		}
	}
}

// String formats the set as `{key="value" ...}` in key order, "{}" when
// empty.
func (a Attrs) String() string {
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for k, v := range a.All() {
		if !first {
			b.WriteByte(' ')
		}
		first = false
		b.WriteString(k.String())
		b.WriteByte('=')
		b.WriteString(strconv.Quote(v))
	}
	b.WriteByte('}')
	return b.String()
}

// With returns the set with the attributes of more that a does not hold
// added: a's values win.
func (a Attrs) With(more Attrs) Attrs {
	if more.IsEmpty() || a == more {
		return a
	}
	if a.IsEmpty() {
		return more
	}
	var b AttrBuilder
	b.AddAttrs(a)
	b.AddAttrs(more)
	return b.Attrs()
}

// MakeAttrs builds a set from key, value pairs given by OpenTelemetry name,
// for hand-built spans and tests. It panics on an odd number of arguments
// or a key that is not kept; empty values are left out.
func MakeAttrs(kv ...string) Attrs {
	if len(kv)%2 != 0 {
		panic("trace.MakeAttrs: odd number of arguments")
	}
	var b AttrBuilder
	for i := 0; i < len(kv); i += 2 {
		k, ok := LookupAttrKey([]byte(kv[i]))
		if !ok {
			panic("trace.MakeAttrs: " + strconv.Quote(kv[i]) + " is not a kept attribute")
		}
		b.SetString(k, kv[i+1])
	}
	return b.Attrs()
}

// AttrBuilder collects the attributes of one set. The first value set for
// a key wins, so a decoder adds the span's own attributes first, then the
// resource's or process's, then values mapped from other format fields.
// Empty values and values longer than MaxAttrLen are ignored.
//
// Values given as byte slices are referenced, not copied, until the set
// is made: a decoder can pass slices of the parser's buffer, then call
// Collector.Attrs before parsing on. The zero value is ready; Reset
// empties it for reuse.
type AttrBuilder struct {
	mask uint32
	vals [NumAttrKeys][]byte
	num  [NumAttrKeys][24]byte // formatted numbers
}

// Reset empties the builder.
func (b *AttrBuilder) Reset() { b.mask = 0 }

// IsEmpty reports whether nothing has been set.
func (b *AttrBuilder) IsEmpty() bool { return b.mask == 0 }

// Has reports whether key k has a value.
func (b *AttrBuilder) Has(k AttrKey) bool { return k < NumAttrKeys && b.mask&(1<<k) != 0 }

// Set sets key k to v unless it has a value already.
func (b *AttrBuilder) Set(k AttrKey, v []byte) {
	if k >= NumAttrKeys || len(v) == 0 || len(v) > MaxAttrLen || b.mask&(1<<k) != 0 {
		return
	}
	b.mask |= 1 << k
	b.vals[k] = v
}

// SetString is Set for a string; v is referenced until the set is made.
func (b *AttrBuilder) SetString(k AttrKey, v string) {
	if v == "" {
		return
	}
	b.Set(k, unsafe.Slice(unsafe.StringData(v), len(v)))
}

// SetInt sets key k to n in decimal.
func (b *AttrBuilder) SetInt(k AttrKey, n int64) {
	if k >= NumAttrKeys || b.mask&(1<<k) != 0 {
		return
	}
	b.Set(k, strconv.AppendInt(b.num[k][:0], n, 10))
}

// SetFloat sets key k to f: in decimal when f is a whole number (JSON
// writers turn 64-bit integers into floats), else in the shortest 'g' form.
func (b *AttrBuilder) SetFloat(k AttrKey, f float64) {
	if k >= NumAttrKeys || b.mask&(1<<k) != 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		b.SetInt(k, int64(f))
		return
	}
	b.Set(k, strconv.AppendFloat(b.num[k][:0], f, 'g', -1, 64))
}

// SetBool sets key k to "true" or "false".
func (b *AttrBuilder) SetBool(k AttrKey, v bool) {
	if v {
		b.SetString(k, "true")
	} else {
		b.SetString(k, "false")
	}
}

// AddAttrs adds every attribute of a whose key has no value yet.
func (b *AttrBuilder) AddAttrs(a Attrs) {
	for k, v := range a.All() {
		b.SetString(k, v)
	}
}

// encode appends the canonical string of the builder's set to dst.
func (b *AttrBuilder) encode(dst []byte) []byte {
	m := b.mask
	dst = append(dst, byte(m), byte(m>>8), byte(m>>16), byte(m>>24))
	end := 0
	for r := m; r != 0; r &= r - 1 {
		end += len(b.vals[bits.TrailingZeros32(r)])
		dst = append(dst, byte(end), byte(end>>8))
	}
	for r := m; r != 0; r &= r - 1 {
		dst = append(dst, b.vals[bits.TrailingZeros32(r)]...)
	}
	return dst
}

// Attrs returns the builder's set. Collector.Attrs does the same through
// the collector's cache; use it in decoders.
func (b *AttrBuilder) Attrs() Attrs {
	if b.mask == 0 {
		return Attrs{}
	}
	var buf [256]byte
	return Attrs{unique.Make(string(b.encode(buf[:0])))}
}

// maxAttrCache bounds a Collector's cache of attribute sets; past it sets
// are still made, through unique.Make alone.
const maxAttrCache = 1 << 20

// Attrs returns the set b holds, shared with every equal set made before.
// The collector's cache answers repeated sets without allocating; only a
// set not seen before costs an allocation.
func (c *Collector) Attrs(b *AttrBuilder) Attrs {
	if b.mask == 0 {
		return Attrs{}
	}
	c.attrBuf = b.encode(c.attrBuf[:0])
	if a, ok := c.attrSets[string(c.attrBuf)]; ok {
		return a
	}
	a := Attrs{unique.Make(string(c.attrBuf))}
	if c.attrSets == nil {
		c.attrSets = make(map[string]Attrs)
	}
	if len(c.attrSets) < maxAttrCache {
		c.attrSets[a.h.Value()] = a
	}
	return a
}

// MergeAttrs returns a with the attributes of more that a does not hold
// added (a's values win), through the collector's cache.
func (c *Collector) MergeAttrs(a, more Attrs) Attrs {
	if more.IsEmpty() || a == more {
		return a
	}
	if a.IsEmpty() {
		return more
	}
	b := &c.attrB
	b.Reset()
	b.AddAttrs(a)
	b.AddAttrs(more)
	return c.Attrs(b)
}
