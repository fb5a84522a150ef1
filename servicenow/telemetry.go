package servicenow

// This file is the telemetry of calls to ServiceNow: a span for each call a
// command makes (method, table, final status, how often it was sent again),
// and http.client.request.duration for every attempt. Never the query, which
// holds what people typed.

import (
	"context"
	"errors"
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
	tracer          = otel.Tracer("snowbot/servicenow")
	callDuration, _ = otel.Meter("snowbot/servicenow").Float64Histogram("http.client.request.duration",
		metric.WithUnit("s"), metric.WithDescription("Duration of each HTTP request to ServiceNow, retries included one by one."))
)

// attrTable is the table (or API) a call reads or writes.
const attrTable = attribute.Key("servicenow.table")

// tableOf names what a path reaches: the table of /api/now/table/{table}
// when it is one snowbot reads itself (any other, such as one a catalog
// form's typeahead names, is "other": what a client sends must not make new
// series), "sn_sc" for the Service Catalog API, "oauth" for the token
// endpoints.
func tableOf(path string) string {
	switch {
	case strings.HasPrefix(path, "/api/now/table/"):
		table, _, _ := strings.Cut(strings.TrimPrefix(path, "/api/now/table/"), "/")
		if knownTables[table] {
			return table
		}
		return "other"
	case strings.HasPrefix(path, "/api/sn_sc/"):
		return "sn_sc"
	case strings.HasPrefix(path, "/oauth_"):
		return "oauth"
	}
	return "other"
}

// knownTables are the tables telemetry names.
var knownTables = map[string]bool{"incident": true, "task": true, "change_request": true, "change_task": true, "problem": true,
	"problem_task": true, "sc_request": true, "sc_req_item": true, "sc_task": true, "sysapproval_approver": true, "kb_knowledge": true,
	"sys_user": true, "sys_user_group": true, "sys_documentation": true, "sc_cat_item": true, "cmn_location": true, "core_company": true,
	"cmn_department": true}

// startCall starts the span of one call; end records how it went.
func (s *Session) startCall(ctx context.Context, method, path string) (context.Context, func(status, resends int, err error)) {
	k := spanKey{method: method, table: tableOf(path), host: s.c.host}
	ctx, span := tracer.Start(ctx, "ServiceNow "+method+" "+k.table, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(spanSets.List(k)...))
	return ctx, func(status, resends int, err error) {
		end := make([]attribute.KeyValue, 0, 3)
		if status > 0 {
			end = append(end, semconv.HTTPResponseStatusCode(status))
		}
		if resends > 0 {
			end = append(end, semconv.HTTPRequestResendCount(resends))
		}
		if err != nil {
			end = append(end, semconv.ErrorTypeKey.String(errorType(status, err)))
			span.SetStatus(codes.Error, errorType(status, err))
		}
		span.SetAttributes(end...) // at once: each call takes the span's lock
		span.End()
	}
}

// spanKey is what a call's span starts with.
type spanKey struct{ method, table, host string }

func (k spanKey) Attributes() []attribute.KeyValue {
	return []attribute.KeyValue{semconv.HTTPRequestMethodKey.String(k.method), attrTable.String(k.table), semconv.ServerAddress(k.host)}
}

var spanSets attrs.Cache[spanKey]

// errorType sorts a failed call for telemetry: its status, or what kind of
// failure it was when no answer came.
func errorType(status int, err error) string {
	switch {
	case status > 0:
		return http.StatusText(status)
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, ErrUnavailable):
		return "unreachable"
	}
	return "other"
}

// measured records http.client.request.duration for every request that
// goes through it.
type measured struct {
	next http.RoundTripper
	host string
}

func (m measured) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := m.next.RoundTrip(r)
	k := callKey{method: r.Method, table: tableOf(r.URL.Path), host: m.host}
	if err != nil {
		k.errorType = errorType(0, err)
	} else {
		k.status = resp.StatusCode
	}
	callDuration.Record(r.Context(), time.Since(start).Seconds(), metric.WithAttributeSet(callSets.Of(k)))
	return resp, err
}

// callKey is what the durations of calls are told apart by.
type callKey struct {
	method, table, host, errorType string
	status                         int
}

func (k callKey) Attributes() []attribute.KeyValue {
	a := []attribute.KeyValue{semconv.HTTPRequestMethodKey.String(k.method), attrTable.String(k.table), semconv.ServerAddress(k.host)}
	switch {
	case k.errorType != "":
		a = append(a, semconv.ErrorTypeKey.String(k.errorType))
	case k.status >= 400:
		a = append(a, semconv.HTTPResponseStatusCode(k.status), semconv.ErrorTypeKey.String(http.StatusText(k.status)))
	default:
		a = append(a, semconv.HTTPResponseStatusCode(k.status))
	}
	return a
}

var callSets attrs.Cache[callKey]
