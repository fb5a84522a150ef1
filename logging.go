package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// newLogger writes JSON lines at the configured level. As a last line of
// defence it blanks every configured secret that would appear in a log value.
func newLogger(w io.Writer, cfg *Config) *slog.Logger {
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
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{
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
				s = strings.ReplaceAll(s, secret, "[redacted]")
			}
			return slog.String(a.Key, s)
		},
	})
	return slog.New(requestIDHandler{h})
}

type requestIDKey struct{}

// requestIDHandler adds the request id of the context to every record.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// withRequestLog gives each request an id (the caller's X-Request-Id when it is
// sane) and logs one line per request: method, path and status, never the query
// string, which carries OAuth codes and state.
func withRequestLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !requestIDPattern.MatchString(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		next.ServeHTTP(rec, r.WithContext(ctx))
		level := slog.LevelInfo
		if r.URL.Path == "/healthz" {
			level = slog.LevelDebug
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
