package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// shutdownGrace bounds a graceful shutdown: stop accepting, finish turns in flight.
const shutdownGrace = 10 * time.Second

func serveCommand(ctx context.Context, stdout, stderr io.Writer) int {
	cfg, ok := loadConfig(stderr)
	if !ok {
		return 1
	}
	log, flush := newLogger(stdout, cfg)
	defer flush()
	if err := serve(ctx, cfg, log, nil); err != nil {
		log.Error("snowbot stopped", "error", err)
		fmt.Fprintln(stderr, "snowbot:", err)
		return 1
	}
	return 0
}

// serve runs the web server until ctx ends, then shuts down gracefully. It
// listens on listeners, or opens its port itself when there are none.
func serve(ctx context.Context, cfg *Config, log *slog.Logger, listeners []net.Listener) error {
	stopTelemetry, err := startTelemetry(ctx, log)
	if err != nil {
		closeAll(listeners)
		return err
	}
	defer stopTelemetry()
	p, err := build(cfg, log)
	if err != nil {
		closeAll(listeners)
		return err
	}
	defer p.close()
	p.checkAtStart(ctx, cfg, log)

	routes := p.routes(cfg)
	srv := &http.Server{
		Handler:           withTelemetry(routes, withRequestLog(log, routes)),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if listeners == nil {
		if listeners, err = listen(cfg); err != nil {
			return err
		}
	}
	log.Info("snowbot listening", "port", cfg.Port, "public_base_url", cfg.PublicBaseURL, "development_mode", cfg.DevelopmentMode())

	notifying := make(chan struct{})
	nctx, stopNotifying := context.WithCancel(ctx)
	defer stopNotifying()
	if p.notifier != nil {
		go func() { p.notifier.Run(nctx, shutdownGrace); close(notifying) }()
	} else {
		close(notifying)
	}

	errc := make(chan error, len(listeners))
	for _, ln := range listeners {
		go func() { errc <- srv.Serve(ln) }()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing turns and notifications in flight")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	stopNotifying()
	err = srv.Shutdown(sctx)
	<-notifying
	if terr := p.bot.Shutdown(sctx); terr != nil {
		log.Warn("shutdown", "error", terr)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("snowbot stopped")
	return nil
}

// checkAtStart says what will not work yet, or is not for production: the
// store not answering, development mode, the sample key, and the channel's
// signing keys out of reach.
func (p *parts) checkAtStart(ctx context.Context, cfg *Config, log *slog.Logger) {
	pctx, pcancel := context.WithTimeout(ctx, 3*time.Second)
	if err := p.store.Ping(pctx); err != nil {
		log.Warn("the store does not answer yet; people are asked to try again in a moment until it does", "store", redactStoreURL(cfg.StoreURL), "error", err)
	}
	pcancel()
	if cfg.DevelopmentMode() {
		log.Warn("DEVELOPMENT MODE: MICROSOFT_APP_ID is empty, so activities are accepted without authentication from loopback addresses only and replies are sent without a bot token. Set MICROSOFT_APP_ID before exposing the bot.")
	}
	if cfg.usingSampleKey {
		log.Warn("TOKEN_ENCRYPTION_KEY is the public sample key from .env.example; generate your own with: openssl rand -base64 32")
	}
	if p.validator != nil {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := p.validator.Preload(pctx); err != nil {
			log.Error("Bot Framework signing keys are not reachable yet; activities will be refused until they are", "error", err)
		}
		cancel()
	}
}

// listen opens the bot's port: on every interface, or in development mode on
// the loopback interfaces only, so that nothing but this machine can reach an
// unauthenticated bot (a proxy on the same host still could, which is why the
// bot also refuses a serviceUrl that is not on this machine).
func listen(cfg *Config) ([]net.Listener, error) {
	port := strconv.Itoa(cfg.Port)
	if !cfg.DevelopmentMode() {
		ln, err := net.Listen("tcp", ":"+port)
		if err != nil {
			return nil, portError(cfg.Port, err)
		}
		return []net.Listener{ln}, nil
	}
	v4, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		return nil, portError(cfg.Port, err)
	}
	listeners := []net.Listener{v4}
	if v6, err := net.Listen("tcp", "[::1]:"+port); err == nil {
		listeners = append(listeners, v6) // browsers may resolve localhost to ::1 first
	}
	return listeners, nil
}

// portError says in one line why the port could not be opened, and what to
// set instead.
func portError(port int, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("PORT %d is in use by another program: stop it, or set PORT to a free port (PORT=%d)", port, port+1)
	}
	return fmt.Errorf("PORT %d cannot be opened: %w", port, err)
}

func closeAll(listeners []net.Listener) {
	for _, ln := range listeners {
		ln.Close()
	}
}
