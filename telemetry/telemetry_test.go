package telemetry

import (
	"context"
	"strings"
	"testing"
)

func TestEnabledOnlyWithAnEndpoint(t *testing.T) {
	for _, name := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_SDK_DISABLED"} {
		t.Setenv(name, "")
	}
	if Enabled() {
		t.Fatal("on without an endpoint")
	}
	t.Setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://localhost:4318/v1/metrics")
	if !Enabled() {
		t.Fatal("off with a metrics endpoint")
	}
	t.Setenv("OTEL_SDK_DISABLED", "true")
	if Enabled() {
		t.Fatal("on with the SDK disabled")
	}
}

func TestOnlyHTTPProtobufIsSpoken(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4317")
	t.Setenv("OTEL_SDK_DISABLED", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")
	if err := Check(); err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc") {
		t.Fatalf("got %v", err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")
	if err := Check(); err != nil {
		t.Fatal(err)
	}
}

func TestIDsAreValidAndDiffer(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tid, sid := ids{}.NewIDs(context.Background())
		if !tid.IsValid() || !sid.IsValid() || seen[tid.String()] || seen[sid.String()] {
			t.Fatalf("ids %s %s", tid, sid)
		}
		seen[tid.String()], seen[sid.String()] = true, true
	}
}
