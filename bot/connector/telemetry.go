package connector

// This file is the telemetry of sends to the channel: a span for each
// activity handed to the connector (what it was, the final status, how
// often it was tried, each 429's Retry-After as an event), the sends by
// status (429s among them), and http.client.request.duration per try.

import (
	"context"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"snowbot/telemetry/attrs"
)

var (
	tracer        = otel.Tracer("snowbot/connector")
	meter         = otel.Meter("snowbot/connector")
	sendCount, _  = meter.Int64Counter("snowbot.connector.sends", metric.WithUnit("{request}"), metric.WithDescription("Requests to the channel's connector, each try counted, by status (429: throttled)."))
	tryLength, _  = meter.Float64Histogram("http.client.request.duration", metric.WithUnit("s"), metric.WithDescription("Duration of each HTTP request to the channel's connector."))
	attrOperation = attribute.Key("snowbot.connector.operation") // send, update, create_conversation
	attrTries     = attribute.Key("snowbot.connector.tries")
)

// operation names what a request to the connector does.
func operation(method, target string) string {
	switch {
	case method == http.MethodPut:
		return "update"
	case strings.HasSuffix(target, "/v3/conversations"):
		return "create_conversation"
	}
	return "send"
}

// hostOf is the host of an absolute URL (without parsing all of it: it is
// asked for on every send).
func hostOf(target string) string {
	_, rest, ok := strings.Cut(target, "://")
	if !ok {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	return host
}

// startSend starts the span of one activity handed to the connector.
func startSend(ctx context.Context, method, target string) (context.Context, trace.Span) {
	k := sendKey{operation: operation(method, target), method: method, host: hostOf(target)}
	return tracer.Start(ctx, "Teams "+k.operation, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(sendSets.List(k)...))
}

// sendKey is what a send's span starts with.
type sendKey struct{ operation, method, host string }

func (k sendKey) Attributes() []attribute.KeyValue {
	return []attribute.KeyValue{attrOperation.String(k.operation), semconv.HTTPRequestMethodKey.String(k.method), semconv.ServerAddress(k.host)}
}

var sendSets attrs.Cache[sendKey]

// endSend ends it: the last status, the tries, and whether it got through.
func endSend(span trace.Span, status, tries int, err error) {
	if status > 0 {
		span.SetAttributes(attrTries.Int(tries), semconv.HTTPResponseStatusCode(status))
	} else {
		span.SetAttributes(attrTries.Int(tries))
	}
	if err != nil {
		span.SetStatus(codes.Error, "not delivered")
	}
	span.End()
}

// tryKey is what tries are told apart by; status 0 is no answer.
type tryKey struct {
	method, host, operation string
	status                  int
}

func (k tryKey) Attributes() []attribute.KeyValue {
	a := []attribute.KeyValue{semconv.HTTPRequestMethodKey.String(k.method), semconv.ServerAddress(k.host), attrOperation.String(k.operation)}
	if k.status > 0 {
		return append(a, semconv.HTTPResponseStatusCode(k.status))
	}
	return append(a, semconv.ErrorTypeKey.String("no_answer"))
}

var trySets attrs.Cache[tryKey]

// tried records one try: its duration and status (0: no answer came), and a
// 429's Retry-After as an event of the send's span.
func tried(ctx context.Context, method, target string, start time.Time, status int, retryAfter time.Duration) {
	set := metric.WithAttributeSet(trySets.Of(tryKey{method: method, host: hostOf(target), operation: operation(method, target), status: status}))
	sendCount.Add(ctx, 1, set)
	tryLength.Record(ctx, time.Since(start).Seconds(), set)
	if status == http.StatusTooManyRequests {
		trace.SpanFromContext(ctx).AddEvent("throttled", trace.WithAttributes(attribute.Float64("retry_after_s", retryAfter.Seconds())))
	}
}
