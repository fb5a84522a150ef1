package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// newLogger writes JSON lines at the configured level. As a last line of
// defence it blanks every configured secret that would appear in a log value.
// Lines are written in batches (see batchedOutput); call the returned flush
// before the process ends.
func newLogger(w io.Writer, cfg *Config) (log *slog.Logger, flush func()) {
	out := newBatchedOutput(w)
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[cfg.LogLevel]
	var secrets []string
	for _, s := range []string{cfg.AppPassword, cfg.ClientSecret} {
		if len(s) >= 4 {
			secrets = append(secrets, s)
		}
	}
	if u, err := url.Parse(cfg.StoreURL); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && len(pw) >= 4 {
			secrets = append(secrets, pw, url.QueryEscape(pw))
		}
	}
	for _, k := range append([][]byte{cfg.EncryptionKey}, cfg.PreviousKeys...) {
		if len(k) > 0 {
			secrets = append(secrets, base64.StdEncoding.EncodeToString(k), base64.RawStdEncoding.EncodeToString(k),
				base64.URLEncoding.EncodeToString(k), base64.RawURLEncoding.EncodeToString(k))
		}
	}
	h := slog.NewJSONHandler(out, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if len(secrets) == 0 {
				return a
			}
			var s string
			switch a.Value.Kind() {
			case slog.KindString:
				s = a.Value.String()
			case slog.KindAny:
				err, ok := a.Value.Any().(error)
				if !ok {
					return a
				}
				s = err.Error()
			default:
				return a
			}
			for _, secret := range secrets {
				s = strings.ReplaceAll(s, secret, "[redacted]") // no copy when absent
			}
			return slog.String(a.Key, s)
		},
	})
	return slog.New(requestIDHandler{Handler: h, out: out}), out.Flush
}

// batchedOutput writes log lines in batches: a busy bot logs a line for every
// activity, and a write (a system call) for each line cost about a twentieth
// of a turn's CPU. A line waits at most flushEvery; a WARN or ERROR line (see
// requestIDHandler) and the end of the process flush at once, so what explains
// a failure is never held back.
type batchedOutput struct {
	mu      sync.Mutex
	w       *bufio.Writer
	pending bool // a flush is scheduled
}

const flushEvery = 20 * time.Millisecond

func newBatchedOutput(w io.Writer) *batchedOutput {
	return &batchedOutput{w: bufio.NewWriterSize(w, 64<<10)}
}

func (b *batchedOutput) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.pending {
		b.pending = true
		time.AfterFunc(flushEvery, b.Flush)
	}
	return b.w.Write(p)
}

// Flush writes out every line written so far.
func (b *batchedOutput) Flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.w.Flush()
	b.pending = false
}

type requestIDKey struct{}

// requestIDHandler adds the request id (and trace) of the context to every record, and
// writes out a warning or an error at once.
type requestIDHandler struct {
	slog.Handler
	out *batchedOutput
}

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		r.AddAttrs(slog.String("request_id", id))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		// The trace the line belongs to, when telemetry is on: a log line
		// leads to its trace and back.
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.out.Flush()
	}
	return err
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{Handler: h.Handler.WithAttrs(attrs), out: h.out}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{Handler: h.Handler.WithGroup(name), out: h.out}
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// withRequestLog gives each request an id (the caller's X-Request-Id when it is
// sane) and logs one line per request: method, path and status, never the query
// string, which carries OAuth codes and state. Activities the bot answers are
// logged by the bot instead, with what they were.
func withRequestLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || !requestIDPattern.MatchString(id) {
			// A request id only tells log lines apart: it needs no cryptographic randomness.
			id = strconv.FormatUint(rand.Uint64(), 16)
		}
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		next.ServeHTTP(rec, r.WithContext(ctx))
		level := slog.LevelInfo
		if r.URL.Path == "/healthz" || (r.URL.Path == "/api/messages" && rec.status < 300) {
			level = slog.LevelDebug // the bot logs each activity it answers, with this request's id
		}
		log.Log(ctx, level, "http request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration_ms", time.Since(start).Milliseconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
