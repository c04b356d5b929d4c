package zipkin

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strconv"

	"github.com/tracesim/tracesim/internal/jsonw"
	"github.com/tracesim/tracesim/trace"
)

// instanceTag carries an Instance that is not an IP address (a host name or
// service.instance.id from another format). OpenTelemetry's Zipkin exporter
// writes resource attributes as tags under their own names, so this is
// where such a value would be found in real Zipkin data too.
const instanceTag = "service.instance.id"

// Encode writes spans as Zipkin v2 JSON: one array of span objects, the body
// a tracer POSTs to /api/v2/spans, one span per line. Decode reads it back
// to the same spans, within what Zipkin can express:
//
//   - times are whole microseconds: Start is truncated, a Duration is
//     rounded up (Zipkin's rule, so that a short span keeps a duration);
//   - KindUnspecified is written like KindInternal (no "kind") and reads
//     back as KindInternal;
//   - a zero Start or Duration is written as absent and reads back with
//     FlagNoStart / FlagNoDuration;
//   - of the flags only FlagError (tag "error":"true"), FlagShared
//     ("shared":true), FlagNoService, FlagNoStart and FlagNoDuration are
//     expressible; SampleRate is not;
//   - an Instance that is an IP address, optionally with ":port" (IPv6 in
//     brackets), goes to localEndpoint; any other goes to the tag
//     "service.instance.id";
//   - Peer is remoteEndpoint.serviceName; the attributes Decode maps from
//     the endpoints go back there when they are canonical (network.peer.address
//     an IP, network.peer.port a port, host.ip the IP of an IP Instance),
//     and every other attribute is a tag under its OpenTelemetry name,
//     which Decode reads first;
//   - invalid UTF-8 in names is replaced with U+FFFD, as JSON requires.
//
// Decode adds host.ip to a span whose Instance is an IP address (it maps
// localEndpoint.ipv4 there), so a span from another format comes back with
// that one attribute more.
func Encode(w io.Writer, spans []trace.Span) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	buf := make([]byte, 0, 1024)
	buf = append(buf, '[')
	for i := range spans {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '\n')
		buf = appendSpan(buf, &spans[i], nil)
		if _, err := bw.Write(buf); err != nil {
			return fmt.Errorf("zipkin: writing span %d: %w", i+1, err)
		}
		buf = buf[:0]
	}
	buf = append(buf, "\n]\n"...)
	if _, err := bw.Write(buf); err != nil {
		return fmt.Errorf("zipkin: writing: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("zipkin: writing: %w", err)
	}
	return nil
}

// tag is an extra string tag for appendSpan (benchmarks write realistic
// spans with HTTP tags that trace.Span has no room for).
type tag struct{ k, v string }

// appendSpan appends one Zipkin v2 span object, members in the order
// Zipkin's own writer uses.
func appendSpan(b []byte, s *trace.Span, extra []tag) []byte {
	b = append(b, `{"traceId":"`...)
	if s.TraceID.High != 0 {
		b = jsonw.AppendHex64(b, s.TraceID.High)
	}
	b = jsonw.AppendHex64(b, s.TraceID.Low)
	b = append(b, '"')
	if s.ParentID != 0 {
		b = append(b, `,"parentId":"`...)
		b = jsonw.AppendHex64(b, uint64(s.ParentID))
		b = append(b, '"')
	}
	b = append(b, `,"id":"`...)
	b = jsonw.AppendHex64(b, uint64(s.ID))
	b = append(b, '"')
	switch s.Kind {
	case trace.KindClient:
		b = append(b, `,"kind":"CLIENT"`...)
	case trace.KindServer:
		b = append(b, `,"kind":"SERVER"`...)
	case trace.KindProducer:
		b = append(b, `,"kind":"PRODUCER"`...)
	case trace.KindConsumer:
		b = append(b, `,"kind":"CONSUMER"`...)
	}
	if s.Name != "" {
		b = append(b, `,"name":`...)
		b = jsonw.AppendString(b, s.Name)
	}
	if s.Flags&trace.FlagNoStart == 0 && s.Start >= 1000 {
		b = append(b, `,"timestamp":`...)
		b = strconv.AppendInt(b, s.Start/1000, 10)
	}
	if s.Flags&trace.FlagNoDuration == 0 && s.Duration > 0 {
		b = append(b, `,"duration":`...)
		b = strconv.AppendInt(b, (s.Duration+999)/1000, 10)
	}

	svc := s.Service
	if s.Flags&trace.FlagNoService != 0 {
		svc = ""
	}
	ip4, ip6, port, ok := splitInstance(s.Instance)
	instAsTag := s.Instance != "" && !ok
	if svc != "" || ip4 != "" || ip6 != "" {
		b = append(b, `,"localEndpoint":{`...)
		sep := false
		if svc != "" {
			b = append(b, `"serviceName":`...)
			b = jsonw.AppendString(b, svc)
			sep = true
		}
		if ip4 != "" || ip6 != "" {
			if sep {
				b = append(b, ',')
			}
			if ip4 != "" {
				b = append(b, `"ipv4":`...)
				b = jsonw.AppendString(b, ip4)
			} else {
				b = append(b, `"ipv6":`...)
				b = jsonw.AppendString(b, ip6)
			}
			if port > 0 {
				b = append(b, `,"port":`...)
				b = strconv.AppendInt(b, int64(port), 10)
			}
		}
		b = append(b, '}')
	}
	// Attributes the remote endpoint can carry.
	a := s.Attrs
	peerIP4, peerIP6 := canonicalIP(a.Get(trace.AttrNetworkPeerAddress))
	peerPort := canonicalPort(a.Get(trace.AttrNetworkPeerPort))
	if s.Peer != "" || peerIP4 != "" || peerIP6 != "" || peerPort > 0 {
		b = append(b, `,"remoteEndpoint":{`...)
		n := len(b)
		if s.Peer != "" {
			b = append(b, `"serviceName":`...)
			b = jsonw.AppendString(b, s.Peer)
		}
		switch {
		case peerIP4 != "":
			b = appendMember(b, n, "ipv4")
			b = jsonw.AppendString(b, peerIP4)
		case peerIP6 != "":
			b = appendMember(b, n, "ipv6")
			b = jsonw.AppendString(b, peerIP6)
		}
		if peerPort > 0 {
			b = appendMember(b, n, "port")
			b = strconv.AppendInt(b, int64(peerPort), 10)
		}
		b = append(b, '}')
	}
	inEndpoint := func(k trace.AttrKey, v string) bool {
		switch k {
		case trace.AttrNetworkPeerAddress:
			return peerIP4 != "" || peerIP6 != ""
		case trace.AttrNetworkPeerPort:
			return peerPort > 0
		case trace.AttrHostIP:
			return v == ip4 || v == ip6
		}
		return false
	}
	attrTags := false
	for k, v := range a.All() {
		if !inEndpoint(k, v) {
			attrTags = true
			break
		}
	}

	if len(extra) > 0 || instAsTag || attrTags || s.Flags&trace.FlagError != 0 {
		b = append(b, `,"tags":{`...)
		n := len(b)
		for _, t := range extra {
			b = appendTag(b, n, t.k, t.v)
		}
		for k, v := range a.All() {
			if !inEndpoint(k, v) {
				b = appendTag(b, n, k.String(), v)
			}
		}
		if s.Flags&trace.FlagError != 0 {
			b = appendTag(b, n, "error", "true")
		}
		if instAsTag {
			b = appendTag(b, n, instanceTag, s.Instance)
		}
		b = append(b, '}')
	}
	if s.Flags&trace.FlagShared != 0 {
		b = append(b, `,"shared":true`...)
	}
	return append(b, '}')
}

// appendTag appends one tag member; start is where the tags object's
// members begin, to know whether a comma is due.
func appendTag(b []byte, start int, k, v string) []byte {
	if len(b) > start {
		b = append(b, ',')
	}
	b = jsonw.AppendString(b, k)
	b = append(b, ':')
	return jsonw.AppendString(b, v)
}

// appendMember appends a member name of an object whose members begin at
// start, with the comma it needs.
func appendMember(b []byte, start int, name string) []byte {
	if len(b) > start {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

// canonicalIP returns s as an IPv4 or IPv6 address when it is one written
// the way Go writes it (so that it reads back unchanged), else "", "".
func canonicalIP(s string) (ip4, ip6 string) {
	if s == "" {
		return "", ""
	}
	addr, err := netip.ParseAddr(s)
	if err != nil || addr.Zone() != "" || addr.String() != s {
		return "", ""
	}
	if addr.Is4() {
		return s, ""
	}
	return "", s
}

// canonicalPort returns s as a port when it is one written in canonical
// decimal, else 0.
func canonicalPort(s string) int {
	if s == "" || s[0] < '1' || s[0] > '9' {
		return 0
	}
	p, err := strconv.Atoi(s)
	if err != nil || p > 0xffff {
		return 0
	}
	return p
}

// splitInstance splits an Instance written the way the decoder forms it
// ("ipv4", "ipv4:port", "[ipv6]", "[ipv6]:port"). ok is false for anything
// else, which then cannot live in a Zipkin endpoint.
func splitInstance(inst string) (ip4, ip6 string, port int, ok bool) {
	if inst == "" {
		return "", "", 0, false
	}
	host, rest := inst, ""
	if inst[0] == '[' {
		j := 1
		for j < len(inst) && inst[j] != ']' {
			j++
		}
		if j == len(inst) {
			return "", "", 0, false
		}
		host, rest = inst[1:j], inst[j+1:]
	} else {
		for j := len(inst) - 1; j >= 0; j-- {
			if inst[j] == ':' {
				host, rest = inst[:j], inst[j:]
				break
			}
		}
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || addr.Zone() != "" {
		return "", "", 0, false
	}
	if rest != "" {
		if rest[0] != ':' {
			return "", "", 0, false
		}
		// Only the canonical spelling round-trips: digits, no sign, no
		// leading zero.
		digits := rest[1:]
		p, err := strconv.Atoi(digits)
		if err != nil || p <= 0 || p > 0xffff || digits[0] < '1' || digits[0] > '9' {
			return "", "", 0, false
		}
		port = p
	}
	if inst[0] == '[' {
		if !addr.Is6() {
			return "", "", 0, false
		}
		return "", host, port, true
	}
	if !addr.Is4() {
		return "", "", 0, false
	}
	return host, "", port, true
}
