package zipkin

import (
	"bytes"
	"fmt"
	"math/rand/v2"

	"github.com/tracesim/tracesim/trace"
)

var genServices = [20]string{
	"frontend", "api-gateway", "auth", "users", "profile", "timeline", "posts", "media",
	"search", "recommendations", "ads", "notifications", "payments", "orders", "inventory",
	"shipping", "email", "cache-proxy", "billing", "audit",
}

var genPeers = [...]string{"mysql", "redis", "kafka", "memcached", "s3"}

var genOps = [...]string{"GET /api/v1/users/{id}", "POST /api/v1/orders", "GET /timeline", "GetProfile",
	"ListPosts", "Authorize", "PUT /api/v1/cart", "Search", "SendEmail", "Charge"}

// genSpan is a generated span and the HTTP tags a real tracer would add.
type genSpan struct {
	span trace.Span
	tags []tag
}

// genTraces makes realistic traces of 40 spans each across 20 services:
// a SERVER root, client/server pairs sharing one id (B3 style), local
// spans, database clients known only by their peer, and a few errors.
func genTraces(n int, seed uint64) []genSpan {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]genSpan, 0, n)
	base := int64(1_700_000_000_000_000_000)
	for len(out) < n {
		tid := trace.TraceID{Low: r.Uint64() | 1}
		if r.IntN(2) == 0 {
			tid.High = r.Uint64() | 1
		}
		start := base + int64(len(out))*1_000_000
		first := len(out)
		add := func(s trace.Span) int {
			s.TraceID = tid
			if s.ID == 0 {
				s.ID = trace.SpanID(r.Uint64() | 1)
			}
			svcIdx := 0
			for i, name := range genServices {
				if name == s.Service {
					svcIdx = i
				}
			}
			ip := fmt.Sprintf("10.0.%d.%d", svcIdx, 10+r.IntN(3))
			s.Instance = fmt.Sprintf("%s:%d", ip, 8080+svcIdx)
			// What Decode keeps of the tags and endpoints: http.method
			// (a tag), host.ip (localEndpoint), and for database calls the
			// remote endpoint's address.
			kv := []string{"http.method", "GET", "host.ip", ip}
			if s.Kind == trace.KindClient && s.Name == "query" {
				kv = append(kv, "db.system", s.Peer, "network.peer.address", fmt.Sprintf("10.1.0.%d", 1+r.IntN(9)), "network.peer.port", "3306")
			}
			s.Attrs = trace.MakeAttrs(kv...)
			if r.IntN(50) == 0 {
				s.Flags |= trace.FlagError
			}
			status := "200"
			if s.Flags&trace.FlagError != 0 {
				status = "500"
			}
			path := fmt.Sprintf("/api/v1/%s/%d", s.Service, r.IntN(100000))
			g := genSpan{span: s, tags: []tag{
				{"http.path", path},
				{"http.url", "http://" + s.Service + ".svc.cluster.local:8080" + path + "?verbose=true"},
				{"http.status_code", status},
			}}
			out = append(out, g)
			return len(out) - 1
		}
		root := add(trace.Span{Service: genServices[0], Name: genOps[0], Kind: trace.KindServer,
			Start: start, Duration: 50_000_000 + 1000*int64(r.IntN(50_000))})
		for len(out)-first < 40 {
			p := out[first+r.IntN(len(out)-first)].span
			if p.Kind == trace.KindClient || p.Kind == trace.KindProducer {
				p = out[root].span
			}
			st := p.Start + 1000*int64(r.IntN(int(p.Duration/2000+1))) // Zipkin keeps microseconds
			dur := int64(1000 * (1 + r.IntN(int(p.Duration/2000)+1)))
			op := genOps[r.IntN(len(genOps))]
			switch k := r.IntN(10); {
			case k < 6 && len(out)-first <= 38: // RPC: client + shared server half
				callee := genServices[1+r.IntN(len(genServices)-1)]
				c := add(trace.Span{ParentID: p.ID, Service: p.Service, Name: op, Kind: trace.KindClient,
					Peer: callee, Start: st, Duration: dur})
				add(trace.Span{ID: out[c].span.ID, ParentID: p.ID, Service: callee, Name: op, Kind: trace.KindServer,
					Start: st + 200_000, Duration: max(dur-400_000, 1000), Flags: trace.FlagShared})
			case k < 8: // database or cache call
				add(trace.Span{ParentID: p.ID, Service: p.Service, Name: "query", Kind: trace.KindClient,
					Peer: genPeers[r.IntN(len(genPeers))], Start: st, Duration: dur})
			default: // local work
				add(trace.Span{ParentID: p.ID, Service: p.Service, Name: "render", Kind: trace.KindInternal,
					Start: st, Duration: dur})
			}
		}
	}
	return out[:n]
}

// encodeGen writes generated spans the way Encode does, plus their tags.
func encodeGen(spans []genSpan) []byte {
	var b bytes.Buffer
	buf := []byte{'['}
	for i := range spans {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '\n')
		buf = appendSpan(buf, &spans[i].span, spans[i].tags)
		b.Write(buf)
		buf = buf[:0]
	}
	b.WriteString("\n]\n")
	return b.Bytes()
}
