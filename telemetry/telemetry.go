// Package telemetry turns on OpenTelemetry traces and metrics, sent over
// OTLP/HTTP, configured the standard way: by the OTEL_* environment
// variables (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, OTEL_METRIC_EXPORT_INTERVAL,
// …). With no endpoint set nothing is started: the instrumentation in the
// other packages talks to OpenTelemetry's no-op providers, at no cost worth
// measuring.
//
// The other packages use the OpenTelemetry API alone (otel.Tracer,
// otel.Meter); this package is the only one that knows the SDK. What they
// record never holds a message's text, a token, a name or an address: only
// kinds, command names, tables, statuses and durations.
package telemetry

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Enabled reports whether the environment asks for telemetry: an OTLP
// endpoint is set (for everything, or for traces or metrics) and the SDK is
// not disabled.
func Enabled() bool {
	if strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"} {
		if strings.TrimSpace(os.Getenv(name)) != "" {
			return true
		}
	}
	return false
}

// Check refuses settings snowbot cannot honour, before anything starts.
func Check() error {
	if !Enabled() {
		return nil
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"} {
		if p := strings.TrimSpace(os.Getenv(name)); p != "" && p != "http/protobuf" {
			return fmt.Errorf("%s=%s: snowbot sends OTLP over HTTP only; set it to http/protobuf (or leave it out) and point the endpoint at the collector's OTLP/HTTP port, usually 4318", name, p)
		}
	}
	return nil
}

// durationBuckets gives every duration histogram (unit s) the bucket
// boundaries OpenTelemetry's HTTP semantic conventions advise, rather than
// the SDK's defaults, which are made for milliseconds.
func durationBuckets(i sdkmetric.Instrument) (sdkmetric.Stream, bool) {
	if i.Kind != sdkmetric.InstrumentKindHistogram || i.Unit != "s" {
		return sdkmetric.Stream{}, false
	}
	return sdkmetric.Stream{Name: i.Name, Description: i.Description, Unit: i.Unit,
		Aggregation: sdkmetric.AggregationExplicitBucketHistogram{
			Boundaries: []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60},
		}}, true
}

// ids makes trace and span ids from math/rand/v2's generator, which every
// goroutine draws from without a lock: the SDK's own takes a mutex for each
// id, which turns served at once wait on. (Ids need to be unique, not secret.)
type ids struct{}

func (ids) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	var t trace.TraceID
	binary.LittleEndian.PutUint64(t[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(t[8:], rand.Uint64())
	return t, newSpanID()
}

func (ids) NewSpanID(context.Context, trace.TraceID) trace.SpanID { return newSpanID() }

func newSpanID() trace.SpanID {
	var s trace.SpanID
	for s == (trace.SpanID{}) { // an all-zero id is not valid
		binary.LittleEndian.PutUint64(s[:], rand.Uint64())
	}
	return s
}

// Start sets up the SDK when the environment asks for it and returns what
// flushes and stops it; a no-op when telemetry is off. version is the
// service's version, used unless OTEL_RESOURCE_ATTRIBUTES says otherwise.
func Start(ctx context.Context, version string) (shutdown func(context.Context) error, err error) {
	if !Enabled() {
		return func(context.Context) error { return nil }, nil
	}
	if err := Check(); err != nil {
		return nil, err
	}
	// Later detectors win: the environment's service name and attributes
	// override snowbot's defaults.
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(semconv.ServiceName("snowbot"), semconv.ServiceVersion(version)),
		resource.WithTelemetrySDK(), resource.WithHost(), resource.WithFromEnv())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("OpenTelemetry resource: %w", err)
	}
	spans, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	points, err := otlpmetrichttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTLP metric exporter: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(spans), sdktrace.WithIDGenerator(ids{}))
	metricOptions := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(sdkmetric.NewPeriodicReader(points)),
		sdkmetric.WithView(durationBuckets)}
	if strings.TrimSpace(os.Getenv("OTEL_METRICS_EXEMPLAR_FILTER")) == "" {
		// Exemplars (a trace id kept with some metric points) cost about a
		// tenth of telemetry's CPU per turn; they are there for whoever asks
		// for them with OTEL_METRICS_EXEMPLAR_FILTER=trace_based.
		metricOptions = append(metricOptions, sdkmetric.WithExemplarFilter(exemplar.AlwaysOffFilter))
	}
	mp := sdkmetric.NewMeterProvider(metricOptions...)
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return errors.Join(tp.Shutdown(ctx), mp.Shutdown(ctx))
	}, nil
}
