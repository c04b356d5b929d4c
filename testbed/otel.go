package testbed

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// Resource attributes every span of an instance carries. trace/otlp reads
// service.name as the span's Service and service.instance.id as its
// Instance, so topology.Build counts one instance per listener.
const (
	attrServiceName = "service.name"
	attrInstanceID  = "service.instance.id"
	// attrPeerService names the callee's service on client spans; it is
	// what trace/otlp reads first as the span's Peer, so a call to a peer
	// service (which reports no server span) is named "peer/operation".
	attrPeerService = "peer.service"
	// attrQueueWait is the time (ns) a server execution waited for a
	// worker before its span started: informational.
	attrQueueWait = "tracesim.queue_wait_ns"
	// attrServicePeerName is the current convention's name for the
	// callee's service (it replaces peer.service).
	attrServicePeerName = "service.peer.name"
)

// dbTracerName is the instrumentation scope of the database client spans
// (PeerSpanDB, PeerSpanComponent).
const dbTracerName = "github.com/tracesim/tracesim/testbed/dbclient"

// jsonSink writes OTLP/JSON export requests (ExportTraceServiceRequest) to one writer, one document
// per line, for every instance's exporter. A nil writer discards batches
// without encoding them, so a run without a traces file still pays for
// creating and batching spans (the same overhead as a traced run) but not
// for writing them.
type jsonSink struct {
	mu  sync.Mutex
	w   io.Writer
	err error // first write or encode error
}

func (s *jsonSink) upload(rs []*tracepb.ResourceSpans) error {
	if s.w == nil || len(rs) == 0 {
		return nil
	}
	// An ExportTraceServiceRequest has one field, resourceSpans; writing
	// the wrapper by hand spares the collector package, which drags gRPC
	// in. Enum numbers, as the OTLP/JSON spec asks ("kind":2).
	opts := protojson.MarshalOptions{UseEnumNumbers: true}
	b := []byte(`{"resourceSpans":[`)
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = opts.MarshalAppend(b, r); err != nil {
			return s.fail(fmt.Errorf("encode OTLP/JSON: %w", err))
		}
	}
	b = append(b, "]}"...)
	b = hexIDs(b)
	b = append(b, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if _, err := s.w.Write(b); err != nil {
		s.err = fmt.Errorf("write traces: %w", err)
		return s.err
	}
	return nil
}

func (s *jsonSink) fail(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
	return err
}

func (s *jsonSink) firstErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// idField matches an id member of protojson output. protojson writes
// bytes fields as base64, while OTLP/JSON wants trace and span ids in hex;
// protojson may put a space after the colon (it randomises whitespace),
// hence \s*. A key inside a string value cannot match: its quotes would
// be escaped.
var idField = regexp.MustCompile(`"(traceId|spanId|parentSpanId)":\s*"([A-Za-z0-9+/=]*)"`)

// hexIDs rewrites the base64 ids of a protojson document as hex.
func hexIDs(b []byte) []byte {
	return idField.ReplaceAllFunc(b, func(m []byte) []byte {
		sub := idField.FindSubmatch(m)
		raw, err := base64.StdEncoding.DecodeString(string(sub[2]))
		if err != nil {
			return m // not base64 after all: leave it for the reader
		}
		var out bytes.Buffer
		out.WriteString(`"`)
		out.Write(sub[1])
		out.WriteString(`":"`)
		out.WriteString(hex.EncodeToString(raw))
		out.WriteString(`"`)
		return out.Bytes()
	})
}

// jsonClient is an otlptrace.Client that hands each batch to the sink: the
// SDK's real export path (span processor → otlptrace exporter → its
// transform to OTLP protobuf → client) ends in a file instead of a
// collector.
type jsonClient struct{ sink *jsonSink }

func (c jsonClient) Start(context.Context) error { return nil }
func (c jsonClient) Stop(context.Context) error  { return nil }
func (c jsonClient) UploadTraces(_ context.Context, rs []*tracepb.ResourceSpans) error {
	return c.sink.upload(rs)
}

// newTracerProvider returns the tracer provider of one service instance:
// its resource names the service and the instance (none when instance is
// ""), every span is sampled, and spans leave through a batch span
// processor and an OTLP exporter.
func newTracerProvider(ctx context.Context, sink *jsonSink, service, instance string) (*sdktrace.TracerProvider, error) {
	exp, err := otlptrace.New(ctx, jsonClient{sink})
	if err != nil {
		return nil, fmt.Errorf("otlp exporter for %s: %w", service, err)
	}
	attrs := []attribute.KeyValue{attribute.String(attrServiceName, service)}
	if instance != "" {
		attrs = append(attrs, attribute.String(attrInstanceID, instance))
	}
	res := resource.NewSchemaless(attrs...)
	return sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		// A queue deep enough that a burst does not drop spans (a dropped
		// span would make its children orphans in the traces).
		sdktrace.WithBatcher(exp,
			sdktrace.WithMaxQueueSize(1<<16),
			sdktrace.WithMaxExportBatchSize(1024),
			sdktrace.WithBatchTimeout(500*time.Millisecond)),
	), nil
}
