package telemetry

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// TracesEndpoint is where traces go: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as
// it is, or OTEL_EXPORTER_OTLP_ENDPOINT with /v1/traces, as the OTLP
// exporter reads them.
func TracesEndpoint() string {
	if e := strings.TrimSpace(os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")); e != "" {
		return e
	}
	if e := strings.TrimSpace(os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")); e != "" {
		return strings.TrimRight(e, "/") + "/v1/traces"
	}
	return ""
}

// Probe sends the receiver an empty batch of traces, with the headers the
// exporter would send, and says what went wrong if it is not accepted.
func Probe(ctx context.Context, client *http.Client) error {
	endpoint := TracesEndpoint()
	if endpoint == "" {
		return fmt.Errorf("no traces endpoint is set")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(nil))
	if err != nil {
		return fmt.Errorf("%s is not a URL: %w", endpoint, err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	for _, header := range []string{os.Getenv("OTEL_EXPORTER_OTLP_HEADERS"), os.Getenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS")} {
		for _, pair := range strings.Split(header, ",") {
			name, value, ok := strings.Cut(pair, "=")
			if !ok {
				continue
			}
			if v, err := url.QueryUnescape(strings.TrimSpace(value)); err == nil {
				value = v
			}
			req.Header.Set(strings.TrimSpace(name), value)
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s cannot be reached: %w", endpoint, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered HTTP %d", endpoint, resp.StatusCode)
	}
	return nil
}
