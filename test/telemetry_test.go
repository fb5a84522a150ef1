package test

// Telemetry over the wire: the built binary, pointed by the standard OTEL_*
// settings at an OTLP/HTTP receiver in this test, sends the spans of a turn
// as one tree and the metrics the README lists, and nothing personal.

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	collmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	colltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// receiver is an OTLP/HTTP endpoint that keeps what it is sent.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	spans   []*tracepb.Span
	metrics map[string][]map[string]string // metric name → the attributes of each point
	raw     [][]byte                       // every body, for searching
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{metrics: map[string][]map[string]string{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.raw = append(r.raw, body)
		switch req.URL.Path {
		case "/v1/traces":
			var in colltrace.ExportTraceServiceRequest
			if err := proto.Unmarshal(body, &in); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			for _, rs := range in.ResourceSpans {
				for _, ss := range rs.ScopeSpans {
					r.spans = append(r.spans, ss.Spans...)
				}
			}
		case "/v1/metrics":
			var in collmetrics.ExportMetricsServiceRequest
			if err := proto.Unmarshal(body, &in); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			for _, rm := range in.ResourceMetrics {
				for _, sm := range rm.ScopeMetrics {
					for _, m := range sm.Metrics {
						r.metrics[m.Name] = append(r.metrics[m.Name], pointAttributes(m)...)
					}
				}
			}
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(r.Close)
	return r
}

// pointAttributes are the attributes of each data point of a metric.
func pointAttributes(m *metricspb.Metric) []map[string]string {
	var out []map[string]string
	for _, p := range m.GetSum().GetDataPoints() {
		out = append(out, attrs(p.Attributes))
	}
	for _, p := range m.GetGauge().GetDataPoints() {
		out = append(out, attrs(p.Attributes))
	}
	for _, p := range m.GetHistogram().GetDataPoints() {
		out = append(out, attrs(p.Attributes))
	}
	return out
}

func attrs(kvs []*common.KeyValue) map[string]string {
	out := map[string]string{}
	for _, kv := range kvs {
		v := kv.Value
		switch {
		case v.GetStringValue() != "":
			out[kv.Key] = v.GetStringValue()
		case v.GetIntValue() != 0:
			out[kv.Key] = fmt.Sprint(v.GetIntValue())
		default:
			out[kv.Key] = v.String()
		}
	}
	return out
}

func (r *receiver) snapshot() ([]*tracepb.Span, map[string][]map[string]string, []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := map[string][]map[string]string{}
	for k, v := range r.metrics {
		m[k] = v
	}
	return append([]*tracepb.Span(nil), r.spans...), m, bytes.Join(r.raw, nil)
}

// tree writes the spans under root, indented, with their attributes.
func tree(spans []*tracepb.Span, root *tracepb.Span) string {
	children := map[string][]*tracepb.Span{}
	for _, s := range spans {
		children[hex.EncodeToString(s.ParentSpanId)] = append(children[hex.EncodeToString(s.ParentSpanId)], s)
	}
	var b strings.Builder
	var walk func(s *tracepb.Span, depth int)
	walk = func(s *tracepb.Span, depth int) {
		a := attrs(s.Attributes)
		keys := make([]string, 0, len(a))
		for k := range a {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var kv []string
		for _, k := range keys {
			kv = append(kv, k+"="+a[k])
		}
		fmt.Fprintf(&b, "%s%s  [%s]\n", strings.Repeat("  ", depth), s.Name, strings.Join(kv, " "))
		kids := children[hex.EncodeToString(s.SpanId)]
		sort.Slice(kids, func(i, j int) bool { return kids[i].StartTimeUnixNano < kids[j].StartTimeUnixNano })
		for _, k := range kids {
			walk(k, depth+1)
		}
	}
	walk(root, 0)
	return b.String()
}

func TestATurnIsOneTraceAndItsMetricsHoldNothingPersonal(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	w := newWorld(t, func(env map[string]string) {
		env["OTEL_EXPORTER_OTLP_ENDPOINT"] = rcv.URL
		env["OTEL_SERVICE_NAME"] = "snowbot-under-test"
		env["OTEL_BSP_SCHEDULE_DELAY"] = "100"
		env["OTEL_METRIC_EXPORT_INTERVAL"] = "300"
	})
	w.signIn(ada, "ada.lovelace", "incidents")
	const typed = "incidents canary-7731 typed by Ada"
	w.say(ada, typed)
	mustContain(t, "the incidents", w.next(ada).JSON(), "INC0010001")

	// The turn's span, once the batch has gone out: the one whose command is
	// incidents and that read the incident table.
	var spans []*tracepb.Span
	var turn *tracepb.Span
	waitFor(t, 20*time.Second, "the turn's spans", func() bool {
		spans, _, _ = rcv.snapshot()
		turn = nil
		for _, s := range spans {
			if s.Name == "turn message" && attrs(s.Attributes)["snowbot.command"] == "incidents" {
				kids := 0
				for _, c := range spans {
					if bytes.Equal(c.ParentSpanId, s.SpanId) && (c.Name == "ServiceNow GET incident" || c.Name == "Teams send") && attrs(c.Attributes)["http.response.status_code"] == "200" {
						kids++
					}
				}
				if kids >= 2 {
					turn = s
				}
			}
		}
		return turn != nil
	})
	// The activity's one span is its turn: a server span, the trace's root.
	if len(turn.ParentSpanId) != 0 || turn.Kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Fatalf("the turn's span is not the root server span: parent %x, kind %v", turn.ParentSpanId, turn.Kind)
	}
	shown := tree(spans, turn)
	t.Logf("the span tree of one incidents turn:\n%s", shown)
	for _, want := range []string{
		"turn message  [snowbot.command=incidents snowbot.conversation.type=personal snowbot.turn.kind=message snowbot.turn.outcome=ok]",
		"\n  ServiceNow GET incident  [http.request.method=GET http.response.status_code=200",
		"\n  Teams send  [",
	} {
		if !strings.Contains(shown, want) {
			t.Errorf("the tree lacks %q", want)
		}
	}
	// Other routes have a server span of their own: the sign-in's callback.
	callback := false
	for _, s := range spans {
		if s.Name == "GET /auth/callback" && s.Kind == tracepb.Span_SPAN_KIND_SERVER && attrs(s.Attributes)["http.response.status_code"] == "200" {
			callback = true
		}
	}
	if !callback {
		t.Error("no server span of the sign-in callback")
	}
	// The store's writes are spans of their own (a bolt file's reads, which
	// never wait, are not): the sign-in kept the tokens.
	stored := false
	for _, s := range spans {
		if s.Name == "store put_tokens" && attrs(s.Attributes)["db.system.name"] == "bolt" {
			stored = true
		}
	}
	if !stored {
		t.Error("no span of the store's put_tokens")
	}
	// Its log lines lead to it.
	trace := hex.EncodeToString(turn.TraceId)
	waitFor(t, 5*time.Second, "a log line of the trace", func() bool { return strings.Contains(w.bot.Logs(), `"trace_id":"`+trace+`"`) })

	// The metrics, each with the attributes that make it useful.
	var metrics map[string][]map[string]string
	has := func(name string, want map[string]string) bool {
		for _, p := range metrics[name] {
			ok := true
			for k, v := range want {
				if p[k] != v {
					ok = false
				}
			}
			if ok {
				return true
			}
		}
		return false
	}
	wants := []struct {
		name string
		attr map[string]string
	}{
		{"http.server.request.duration", map[string]string{"http.route": "/api/messages", "http.response.status_code": "200"}},
		{"snowbot.turns", map[string]string{"snowbot.turn.kind": "message", "snowbot.turn.outcome": "ok"}},
		{"snowbot.turn.duration", map[string]string{"snowbot.turn.kind": "message"}},
		{"http.client.request.duration", map[string]string{"servicenow.table": "incident", "http.response.status_code": "200"}},
		{"snowbot.connector.sends", map[string]string{"snowbot.connector.operation": "send"}},
		{"snowbot.signins", map[string]string{"snowbot.signin.stage": "started"}},
		{"snowbot.signins", map[string]string{"snowbot.signin.stage": "exchanged"}},
		{"snowbot.signins", map[string]string{"snowbot.signin.stage": "completed"}},
		{"snowbot.notifications.queue.depth", nil},
		{"snowbot.notifications.queue.oldest_age", nil},
	}
	waitFor(t, 20*time.Second, "every metric", func() bool {
		_, metrics, _ = rcv.snapshot()
		for _, m := range wants {
			if !has(m.name, m.attr) {
				return false
			}
		}
		return true
	})

	// Nothing personal, nothing secret, in anything sent.
	_, _, raw := rcv.snapshot()
	secrets := append(w.sn.IssuedSecrets(), w.env["SERVICENOW_CLIENT_SECRET"], w.env["TOKEN_ENCRYPTION_KEY"])
	personal := []string{"canary-7731", typed, "@example.com", "ada.lovelace", "Ada Lovelace", ada.ID, ada.ObjectID, ada.Conversation, "Laptop does not connect"}
	for _, s := range append(secrets, personal...) {
		if s != "" && bytes.Contains(raw, []byte(s)) {
			t.Errorf("the telemetry holds %q", s)
		}
	}
}
