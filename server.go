package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"snowbot/auth"
	"snowbot/auth/seal"
	"snowbot/auth/store"
	"snowbot/auth/store/boltstore"
	"snowbot/auth/store/redisstore"
	"snowbot/bot"
	"snowbot/bot/channelauth"
	"snowbot/bot/connector"
	"snowbot/servicenow"
)

// shutdownGrace bounds a graceful shutdown: stop accepting, finish turns in flight.
const shutdownGrace = 10 * time.Second

// outboundTimeout bounds every single outbound HTTP request.
const outboundTimeout = 10 * time.Second

// openStore opens the store STORE_URL names.
func openStore(cfg *Config) (store.Store, error) {
	if path, ok := strings.CutPrefix(cfg.StoreURL, "bolt://"); ok {
		return boltstore.Open(path)
	}
	return redisstore.Open(cfg.StoreURL, redisstore.Options{})
}

// newAuth wires ServiceNow sign-in from the configuration.
func newAuth(cfg *Config, st store.Store, sn *servicenow.Client, log *slog.Logger) (*auth.Service, error) {
	sealer, err := seal.New(cfg.EncryptionKey, cfg.PreviousKeys...)
	if err != nil {
		return nil, err
	}
	ac := authConfig(cfg)
	ac.Sealer, ac.Store, ac.Log = sealer, st, log
	// Shorter than a command's budget for ServiceNow, so a token endpoint that
	// hangs is told apart from one that answers with an error.
	ac.HTTPClient = &http.Client{Timeout: outboundTimeout}
	ac.Identify = func(ctx context.Context, accessToken string) (auth.Identity, error) {
		u, err := sn.Identify(ctx, accessToken)
		return auth.Identity{SysID: u.SysID, UserName: u.UserName, Name: u.Name}, err
	}
	return auth.New(ac)
}

// newBot wires the Teams-facing side from the configuration.
func newBot(cfg *Config, signin *auth.Service, sn *servicenow.Client, log *slog.Logger) (*bot.Bot, *channelauth.Validator, error) {
	httpClient := &http.Client{Timeout: outboundTimeout}
	conn := &connector.Client{HTTP: httpClient, Log: log}
	var validator *channelauth.Validator
	if !cfg.DevelopmentMode() {
		validator = channelauth.New(channelauth.Settings{
			AppID:         cfg.AppID,
			Issuer:        cfg.TokenIssuer,
			MetadataURL:   cfg.OpenIDMetadataURL,
			HTTPClient:    httpClient,
			CacheVerified: true,
		})
		fetch, err := botTokenFetcher(cfg, httpClient)
		if err != nil {
			return nil, nil, err
		}
		conn.Tokens = connector.NewCachedToken(fetch)
	}
	b, err := bot.New(bot.Options{
		AppID:          cfg.AppID,
		Validator:      validator,
		Connector:      conn,
		AllowedTenants: cfg.AllowedTenantIDs,
		Handler: &bot.App{
			Log:         log,
			Auth:        signin,
			ServiceNow:  sn,
			ResolveCode: cfg.ResolveCode,
		},
		Log: log,
	})
	return b, validator, err
}

// botTokenFetcher picks how the bot obtains its own token for MICROSOFT_APP_TYPE.
func botTokenFetcher(cfg *Config, client *http.Client) (connector.FetchFunc, error) {
	if cfg.AppType == appTypeUserAssignedMSI {
		f, err := connector.ManagedIdentity(cfg.AppID)
		if err != nil {
			return nil, fmt.Errorf("managed identity %s: %w", cfg.AppID, err)
		}
		return f, nil
	}
	return connector.ClientCredentials(cfg.BotTokenURL(), cfg.AppID, cfg.AppPassword, client), nil
}

// healthHandler answers 200 while the server can serve, and says whether the
// store answers: with the store down the bot still answers people (it tells
// them to try again in a moment), so the instance is not unhealthy. It also
// shows the work in flight, so an operator sees turns piling up (a channel
// that stopped answering, say) before memory does.
func healthHandler(st store.Store, b *bot.Bot) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		state := "ok"
		if err := st.Ping(ctx); err != nil {
			state = "unavailable"
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"status": "ok", "store": state,
			"turns_in_flight": b.InFlight(), "goroutines": runtime.NumGoroutine(),
		})
	})
}

// listen opens the bot's port: on every interface, or in development mode on
// the loopback interfaces only, so that nothing but this machine can reach an
// unauthenticated bot (a proxy on the same host still could: see loopbackURL
// in package bot for the second line of defence).
func listen(cfg *Config) ([]net.Listener, error) {
	port := strconv.Itoa(cfg.Port)
	if !cfg.DevelopmentMode() {
		ln, err := net.Listen("tcp", ":"+port)
		if err != nil {
			return nil, fmt.Errorf("PORT %d: %w", cfg.Port, err)
		}
		return []net.Listener{ln}, nil
	}
	v4, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		return nil, fmt.Errorf("PORT %d: %w", cfg.Port, err)
	}
	listeners := []net.Listener{v4}
	if v6, err := net.Listen("tcp", "[::1]:"+port); err == nil {
		listeners = append(listeners, v6) // browsers may resolve localhost to ::1 first
	}
	return listeners, nil
}

// serve runs the web server until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, cfg *Config, log *slog.Logger) error {
	st, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	pctx, pcancel := context.WithTimeout(ctx, 3*time.Second)
	if err := st.Ping(pctx); err != nil {
		log.Warn("the store does not answer yet; people are asked to try again in a moment until it does", "store", redactStoreURL(cfg.StoreURL), "error", err)
	}
	pcancel()
	sn := servicenow.New(cfg.InstanceURL, &http.Client{})
	signin, err := newAuth(cfg, st, sn, log)
	if err != nil {
		return err
	}
	b, validator, err := newBot(cfg, signin, sn, log)
	if err != nil {
		return err
	}
	if cfg.DevelopmentMode() {
		log.Warn("DEVELOPMENT MODE: MICROSOFT_APP_ID is empty, so activities are accepted without authentication from loopback addresses only and replies are sent without a bot token. Set MICROSOFT_APP_ID before exposing the bot.")
	}
	if cfg.usingSampleKey {
		log.Warn("TOKEN_ENCRYPTION_KEY is the public sample key from .env.example; generate your own with: openssl rand -base64 32")
	}
	if validator != nil {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := validator.Preload(pctx); err != nil {
			log.Error("Bot Framework signing keys are not reachable yet; activities will be refused until they are", "error", err)
		}
		cancel()
	}

	mux := http.NewServeMux()
	mux.Handle("/api/messages", b)
	mux.Handle("GET "+auth.CallbackPath, signin.CallbackHandler())
	mux.Handle("GET "+auth.ScriptPath, auth.ScriptHandler())
	mux.Handle("GET /static/", auth.StaticHandler())
	mux.Handle("GET /privacy", pageHandler(privacy))
	mux.Handle("GET /terms", pageHandler(terms))
	mux.Handle("GET /healthz", healthHandler(st, b))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "snowbot is running. Chat with it in Microsoft Teams.")
	})

	srv := &http.Server{
		Handler:           withRequestLog(log, mux),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	listeners, err := listen(cfg)
	if err != nil {
		return err
	}
	log.Info("snowbot listening", "port", cfg.Port, "public_base_url", cfg.PublicBaseURL, "development_mode", cfg.DevelopmentMode())

	errc := make(chan error, len(listeners))
	for _, ln := range listeners {
		go func() { errc <- srv.Serve(ln) }()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing turns in flight")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err = srv.Shutdown(sctx)
	if terr := b.Shutdown(sctx); terr != nil {
		log.Warn("shutdown", "error", terr)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("snowbot stopped")
	return nil
}
