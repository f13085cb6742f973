package app_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/telemetry"
)

// otlpReceiver is an in-process OTLP/HTTP trace receiver.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var req coltrace.ExportTraceServiceRequest
	if err != nil || r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			o.spans = append(o.spans, ss.Spans...)
		}
	}
	o.mu.Unlock()
	b, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(b)
}

// TestTracesOfAMotoPayment: with an OTLP endpoint configured, one MOTO
// payment through the gateway API is one trace: the server span of the
// request, with the caller's trace as its parent, and the request's
// database transactions as its children; the response names the request
// id, and the request's log lines carry it and the trace id.
func TestTracesOfAMotoPayment(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			recv := &otlpReceiver{}
			collector := httptest.NewServer(recv)
			defer collector.Close()
			tracing, err := telemetry.New(context.Background(), telemetry.Config{Endpoint: collector.URL, Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			var logs syncBuf
			h := apptest.New(t, e, apptest.Options{Seed: 3, Tracer: tracing.Provider, Log: &logs})
			body := strings.Replace(gatewayMoto, `"ORDER"`, `"O-trace"`, 1)
			hdr := signed(h, body)
			const parentTrace, parentSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
			hdr["traceparent"] = "00-" + parentTrace + "-" + parentSpan + "-01"
			hdr["X-Request-Id"] = "order-O-trace"
			r := h.Do("POST", "/api/gateway/payment-jobs", []byte(body), hdr)
			if r.Status != 201 || !strings.Contains(string(r.Body), `"Paid"`) {
				t.Fatalf("MOTO: %d %s", r.Status, r.Body)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := tracing.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			recv.mu.Lock()
			defer recv.mu.Unlock()
			var server *tracepb.Span
			for _, s := range recv.spans {
				if s.Name == "POST /api/gateway/payment-jobs" {
					server = s
				}
			}
			if server == nil {
				t.Fatalf("no server span among %d spans", len(recv.spans))
			}
			if hexOf(server.TraceId) != parentTrace || hexOf(server.ParentSpanId) != parentSpan || server.Kind != tracepb.Span_SPAN_KIND_SERVER {
				t.Fatalf("server span trace %s parent %s kind %v, want the caller's trace %s and span %s", hexOf(server.TraceId), hexOf(server.ParentSpanId), server.Kind, parentTrace, parentSpan)
			}
			if v := attr(server, "http.response.status_code"); v != "201" {
				t.Errorf("server span status code %q, want 201", v)
			}
			if v := attr(server, "cashgate.request_id"); v != "order-O-trace" {
				t.Errorf("server span request id %q", v)
			}
			txs := 0
			for _, s := range recv.spans {
				if s.Name == "db.transaction" && bytes.Equal(s.ParentSpanId, server.SpanId) {
					txs++
					if attr(s, "db.system.name") == "" {
						t.Errorf("transaction span without db.system.name")
					}
				}
			}
			if txs == 0 {
				t.Fatal("the MOTO payment's transactions are not children of its server span")
			}
			if !strings.Contains(logs.String(), "request_id=order-O-trace") || !strings.Contains(logs.String(), "trace_id="+parentTrace) {
				t.Fatalf("the request's log lines lack its request and trace ids:\n%s", logs.String())
			}
		})
	}
}

// TestRequestIDs: a request without a usable X-Request-Id gets a new one.
func TestRequestIDs(t *testing.T) {
	h := apptest.New(t, storetest.Engines()[0], apptest.Options{Seed: 4})
	for _, given := range []string{"", "bad id with spaces", strings.Repeat("x", 65)} {
		res := h.Do("GET", "/healthz", nil, map[string]string{"X-Request-Id": given})
		if got := res.Header.Get("X-Request-Id"); !strings.HasPrefix(got, "req_") {
			t.Errorf("X-Request-Id %q: answered %q, want a new req_ id", given, got)
		}
	}
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }

// attr returns a span attribute as text.
func attr(s *tracepb.Span, key string) string {
	for _, a := range s.Attributes {
		if a.Key != key {
			continue
		}
		switch v := a.Value.Value.(type) {
		case *commonpb.AnyValue_StringValue:
			return v.StringValue
		case *commonpb.AnyValue_IntValue:
			return strconv.FormatInt(v.IntValue, 10)
		}
	}
	return ""
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
