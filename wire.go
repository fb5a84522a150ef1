package main

// This file builds snowbot's parts from the configuration, in one place for
// every subcommand: the store, ServiceNow client, sign-in, the Teams side and
// the HTTP routes.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"time"

	"snowbot/auth"
	"snowbot/auth/store"
	"snowbot/auth/store/boltstore"
	"snowbot/auth/store/observed"
	"snowbot/auth/store/redisstore"
	"snowbot/bot"
	"snowbot/bot/channelauth"
	"snowbot/bot/chat"
	"snowbot/bot/connector"
	"snowbot/bot/pages"
	"snowbot/servicenow"
	"snowbot/servicenow/events"
	"snowbot/telemetry"
)

// outboundTimeout bounds every single outbound HTTP request. It is shorter than
// a command's budget for ServiceNow, so a service that hangs is told apart from
// one that answers with an error.
const outboundTimeout = 10 * time.Second

// outboundTransport keeps connections to the channel, ServiceNow and the token
// endpoints open for the concurrency the bot serves: net/http's default keeps
// two idle connections per host, so a busy bot would dial again and again. It
// speaks HTTP/2 where the server offers it.
func outboundTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 512
	t.MaxIdleConnsPerHost = 128
	t.IdleConnTimeout = 90 * time.Second
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ForceAttemptHTTP2 = true
	return t
}

// parts are snowbot's running pieces.
type parts struct {
	store     store.Store
	auth      *auth.Service
	bot       *bot.Bot
	validator *channelauth.Validator // nil in development mode
	notifier  *chat.Notifier         // nil without SERVICENOW_WEBHOOK_SECRET
	events    http.Handler           // POST /api/servicenow/events; nil without the secret
}

// build wires every part from the configuration; close releases the store.
func build(cfg *Config, log *slog.Logger) (*parts, error) {
	st, err := openStore(cfg)
	if err != nil {
		return nil, err
	}
	if telemetry.Enabled() {
		st = observed.Wrap(st, storeKind(cfg.StoreURL))
	}
	outbound := &http.Client{Transport: outboundTransport(), Timeout: outboundTimeout}
	sn := servicenow.New(cfg.InstanceURL, outbound)
	signin, err := newAuth(cfg, st, sn, outbound, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	conversation := &chat.Conversation{Log: log, Auth: signin, ServiceNow: sn, ResolveCode: cfg.ResolveCode, Locks: st,
		Prefixes: cfg.Prefixes, SearchTables: cfg.SearchTables}
	b, validator, err := newBot(cfg, conversation, sendLogOf(st), outbound, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	p := &parts{store: st, auth: signin, bot: b, validator: validator}
	if cfg.WebhookSecret != "" {
		p.notifier = &chat.Notifier{Conversation: conversation, Queue: queueOf{st}, Sender: b.Sender()}
		p.events = &events.Handler{Secret: cfg.WebhookSecret, Inbox: p.notifier, Log: log}
	}
	return p, nil
}

func (p *parts) close() { _ = p.store.Close() }

// routes are the bot's HTTP endpoints.
func (p *parts) routes(cfg *Config) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/api/messages", p.bot)
	mux.Handle("GET "+auth.CallbackPath, pages.SignIn(p.auth, cfg.RedirectURL()))
	mux.Handle("GET "+pages.ScriptPath, pages.Script())
	mux.Handle("GET "+pages.StaticPath, pages.Static())
	mux.Handle("GET /privacy", pages.Privacy())
	mux.Handle("GET /terms", pages.Terms())
	mux.Handle("GET /healthz", healthHandler(p.store, p.bot))
	if p.events != nil {
		mux.Handle("POST /api/servicenow/events", p.events)
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "snowbot is running. Chat with it in Microsoft Teams.")
	})
	return mux
}

// storeKind is the kind of store STORE_URL names, as telemetry calls it.
func storeKind(storeURL string) string {
	if strings.HasPrefix(storeURL, "bolt://") {
		return "bolt"
	}
	return "redis"
}

// openStore opens the store STORE_URL names.
func openStore(cfg *Config) (store.Store, error) {
	if path, ok := strings.CutPrefix(cfg.StoreURL, "bolt://"); ok {
		return boltstore.Open(path)
	}
	return redisstore.Open(cfg.StoreURL, redisstore.Options{})
}

// authConfig is the sign-in configuration, without a store.
func authConfig(cfg *Config, client *http.Client) auth.Config {
	return auth.Config{
		InstanceURL:  cfg.InstanceURL,
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		ClientAuth:   cfg.ClientAuth,
		Scope:        cfg.OAuthScope,
		PKCE:         cfg.PKCE,
		RedirectURL:  cfg.RedirectURL(),
		Key:          cfg.EncryptionKey,
		PreviousKeys: cfg.PreviousKeys,
		HTTPClient:   client,
	}
}

// newAuth wires ServiceNow sign-in: who signed in is looked up with the
// ServiceNow client right after the code exchange.
func newAuth(cfg *Config, st store.Store, sn *servicenow.Client, client *http.Client, log *slog.Logger) (*auth.Service, error) {
	ac := authConfig(cfg, client)
	ac.Store, ac.Log = st, log
	ac.Identify = func(ctx context.Context, accessToken string) (auth.Identity, error) {
		u, err := sn.Identify(ctx, accessToken)
		return auth.Identity{SysID: u.SysID, UserName: u.UserName, Name: u.Name}, err
	}
	return auth.New(ac)
}

// newBot wires the Teams side: channel authentication, the connector and the
// conversation that answers.
func newBot(cfg *Config, handler bot.Handler, sends bot.SendLog, httpClient *http.Client, log *slog.Logger) (*bot.Bot, *channelauth.Validator, error) {
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
		Handler:        handler,
		SendLog:        sends,
		Log:            log,
	})
	return b, validator, err
}

// queueOf is the store as the conversation's notification queue: the same
// operations, with the conversation's own batch type.
type queueOf struct{ store.Store }

func (q queueOf) Claim(ctx context.Context, max int, lease time.Duration) ([]chat.Batch, error) {
	list, err := q.Store.Claim(ctx, max, lease)
	out := make([]chat.Batch, len(list))
	for i, b := range list {
		out[i] = chat.Batch(b)
	}
	return out, err
}

func (q queueOf) Extend(ctx context.Context, b chat.Batch, lease time.Duration) (bool, error) {
	return q.Store.Extend(ctx, store.Batch(b), lease)
}

func (q queueOf) Finish(ctx context.Context, b chat.Batch, delay time.Duration) error {
	return q.Store.Finish(ctx, store.Batch(b), delay)
}

func (q queueOf) Stats(ctx context.Context) (chat.QueueStats, error) {
	s, err := q.Store.QueueStats(ctx)
	return chat.QueueStats(s), err
}

func (q queueOf) Retry(ctx context.Context, b chat.Batch, delay time.Duration) error {
	return q.Store.Retry(ctx, store.Batch(b), delay)
}

// sendLogOf is the store's shared send log, when it keeps one (Redis: several
// instances), as the bot's; nil when each instance paces alone.
func sendLogOf(st store.Store) bot.SendLog {
	if l, ok := st.(store.SendLog); ok {
		return sendLog{l}
	}
	return nil
}

type sendLog struct{ store.SendLog }

func (l sendLog) ReserveSend(ctx context.Context, key string, limits []bot.Window) (time.Duration, error) {
	windows := make([]store.Window, len(limits))
	for i, w := range limits {
		windows[i] = store.Window(w)
	}
	return l.SendLog.ReserveSend(ctx, key, windows)
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
	builtFrom := buildCommit() // read once: it never changes while the process runs
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
			"status": "ok", "store": state, "version": version, "commit": builtFrom,
			"turns_in_flight": b.InFlight(), "goroutines": runtime.NumGoroutine(),
		})
	})
}

// redactStoreURL hides a Redis password.
func redactStoreURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
