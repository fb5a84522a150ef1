package main

// This file is the telemetry of the bot's own HTTP server: a span per
// request, which the bot's turns and their calls hang under, and
// http.server.request.duration.

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"snowbot/telemetry"
	"snowbot/telemetry/attrs"
)

var (
	serverTracer      = otel.Tracer("snowbot")
	serverDuration, _ = otel.Meter("snowbot").Float64Histogram("http.server.request.duration",
		metric.WithUnit("s"), metric.WithDescription("Duration of HTTP server requests."))
)

// withTelemetry traces every request when telemetry is on, and is not there
// at all when it is off. The span is named by the route of routes that
// serves the request (never by its path or query, which may carry codes and
// states).
func withTelemetry(routes *http.ServeMux, next http.Handler) http.Handler {
	if !telemetry.Enabled() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		_, route := routes.Handler(r)
		if route == "" {
			route = "unmatched"
		} else if _, path, ok := strings.Cut(route, " "); ok {
			route = path // "GET /healthz": the method is an attribute of its own
		}
		k := requestKey{method: r.Method, route: route, scheme: scheme(r)}
		ctx, span := r.Context(), trace.SpanFromContext(r.Context())
		if route != activities {
			ctx, span = serverTracer.Start(ctx, r.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(k.Attributes()...))
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(ctx))
		span.SetAttributes(semconv.HTTPResponseStatusCode(rec.status))
		if rec.status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(rec.status))
		}
		span.End()
		k.status = rec.status
		serverDuration.Record(context.WithoutCancel(ctx), time.Since(start).Seconds(), metric.WithAttributeSet(requestSets.Of(k)))
	})
}

// activities is the route of Teams' activities: the bot's turn is their span
// (from the request to the end of its answer), so the request has none of its own.
const activities = "/api/messages"

// requestKey is what requests are told apart by.
type requestKey struct {
	method, route, scheme string
	status                int
}

func (k requestKey) Attributes() []attribute.KeyValue {
	a := []attribute.KeyValue{semconv.HTTPRequestMethodKey.String(k.method), semconv.HTTPRoute(k.route), semconv.URLScheme(k.scheme)}
	if k.status > 0 {
		a = append(a, semconv.HTTPResponseStatusCode(k.status))
	}
	return a
}

var requestSets attrs.Cache[requestKey]

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// startTelemetry starts OpenTelemetry when the environment asks for it, and
// says so; the returned function flushes what is left at shutdown.
func startTelemetry(ctx context.Context, log *slog.Logger) (stop func(), err error) {
	shutdown, err := telemetry.Start(ctx, version)
	if err != nil {
		return nil, err
	}
	if !telemetry.Enabled() {
		return func() {}, nil
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("telemetry could not be sent", "error", err)
	}))
	log.Info("telemetry on: traces and metrics go to the OTLP endpoint of OTEL_EXPORTER_OTLP_ENDPOINT")
	return func() {
		if err := shutdown(context.Background()); err != nil {
			log.Warn("telemetry: the last traces and metrics were not sent", "error", err)
		}
	}, nil
}
