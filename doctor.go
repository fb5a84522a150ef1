package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"snowbot/auth"
	"snowbot/auth/store/boltstore"
	"snowbot/auth/store/redisstore"
	"snowbot/bot/channelauth"
	"snowbot/telemetry"
)

// doctor checks a configuration end to end, printing a line per check with
// the fix for each failure, in the words of the errors people meet.
type doctor struct {
	out      io.Writer
	passed   int
	failed   int
	deadline time.Duration
}

func (d *doctor) pass(format string, args ...any) {
	d.passed++
	fmt.Fprintf(d.out, "✓ %s\n", fmt.Sprintf(format, args...))
}

func (d *doctor) fail(what, fix string) {
	d.failed++
	fmt.Fprintf(d.out, "✗ %s\n    fix: %s\n", what, fix)
}

func (d *doctor) note(format string, args ...any) {
	fmt.Fprintf(d.out, "• %s\n", fmt.Sprintf(format, args...))
}

func doctorCommand(ctx context.Context, _ *flag.FlagSet, stdout, stderr io.Writer) int {
	d := &doctor{out: stdout, deadline: 15 * time.Second}
	get, err := environment("")
	if err != nil {
		d.fail(err.Error(), "fix the syntax of the .env file (NAME=value, one per line)")
		return d.summary()
	}
	cfg, err := LoadConfig(get)
	if err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			for i, p := range ce.Problems {
				name, msg, _ := strings.Cut(p, ": ")
				fix := ce.Fixes[i]
				if fix == "" {
					fix = "set " + name + " as described in README.md (Configuration)"
				}
				d.fail("setting "+name+": "+msg, fix)
			}
		}
		fmt.Fprintln(stdout, "  (the other checks need valid settings: fix the ones above and run snowbot doctor again)")
		return d.summary()
	}
	d.pass("settings: every variable is present and well-formed")
	if cfg.usingSampleKey {
		d.note("TOKEN_ENCRYPTION_KEY is the public sample key from .env.example: accepted in development mode only; generate your own with: openssl rand -base64 32")
	}
	d.publicURL(cfg)
	d.botFramework(ctx, cfg)
	d.serviceNow(ctx, cfg)
	d.storeAndKey(ctx, cfg)
	d.telemetry(ctx)
	return d.summary()
}

// telemetry says whether traces and metrics are sent, and checks that the
// receiver takes them.
func (d *doctor) telemetry(ctx context.Context) {
	if !telemetry.Enabled() {
		d.note("telemetry: off (set OTEL_EXPORTER_OTLP_ENDPOINT to send OpenTelemetry traces and metrics; see README.md, Operating it)")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, d.deadline)
	defer cancel()
	if err := telemetry.Probe(ctx, &http.Client{Timeout: d.deadline}); err != nil {
		d.fail("telemetry: "+err.Error(), "point OTEL_EXPORTER_OTLP_ENDPOINT at an OpenTelemetry Collector's OTLP/HTTP port (usually 4318), with the headers it needs in OTEL_EXPORTER_OTLP_HEADERS")
		return
	}
	d.pass("telemetry: the OTLP receiver at %s accepts traces", telemetry.TracesEndpoint())
}

func (d *doctor) summary() int {
	if d.failed == 0 {
		fmt.Fprintf(d.out, "\nAll %d checks passed.\n", d.passed)
		return 0
	}
	fmt.Fprintf(d.out, "\n%d of %d checks failed.\n", d.failed, d.passed+d.failed)
	return 1
}

func (d *doctor) publicURL(cfg *Config) {
	u, _ := url.Parse(cfg.PublicBaseURL)
	if u.Scheme != "https" && !isLoopbackHost(u.Hostname()) {
		d.fail("PUBLIC_BASE_URL "+cfg.PublicBaseURL+" is not https: Teams will not call it and browsers will warn on the sign-in page",
			"set PUBLIC_BASE_URL to the bot's https address, e.g. https://snowbot.azurewebsites.net")
		return
	}
	if u.Scheme != "https" {
		d.note("PUBLIC_BASE_URL is http on loopback: fine on this machine; Teams and ServiceNow need an https address")
	}
	d.pass("redirect URI: %s (register exactly this as the Redirect URL of the Application Registry entry in ServiceNow)", cfg.RedirectURL())
}

func (d *doctor) botFramework(ctx context.Context, cfg *Config) {
	if cfg.DevelopmentMode() {
		d.note("development mode (MICROSOFT_APP_ID is empty): Bot Framework checks skipped; only this machine can talk to the bot")
		return
	}
	client := &http.Client{Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, d.deadline)
	defer cancel()
	v := channelauth.New(channelauth.Settings{AppID: cfg.AppID, Issuer: cfg.TokenIssuer, MetadataURL: cfg.OpenIDMetadataURL, HTTPClient: client})
	if err := v.Preload(ctx); err != nil {
		d.fail("Bot Framework signing keys: "+err.Error(),
			"check that the bot can reach "+cfg.OpenIDMetadataURL+" (outbound HTTPS, proxy, DNS), or fix BOT_OPENID_METADATA_URL")
	} else {
		d.pass("Bot Framework OpenID metadata and signing keys are reachable")
	}

	fetch, err := botTokenFetcher(cfg, client)
	if err == nil {
		_, err = fetch(ctx)
	}
	if err == nil {
		d.pass("bot token: %s gets a token for the Bot Connector (%s)", cfg.AppID, cfg.AppType)
		return
	}
	what, fix := explainBotToken(cfg, err)
	d.fail("bot token: "+what, fix)
}

// explainBotToken translates Entra's answer to a bot token request.
func explainBotToken(cfg *Config, err error) (string, string) {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		if cfg.AppType == appTypeUserAssignedMSI {
			return "the managed identity gave no token: " + err.Error(),
				"assign the user-assigned managed identity whose client ID is MICROSOFT_APP_ID to the web app, and check MICROSOFT_APP_TENANT_ID"
		}
		return "the token endpoint " + cfg.BotTokenURL() + " cannot be reached: " + err.Error(), "check outbound HTTPS to BOT_LOGIN_URL (" + cfg.LoginURL + ")"
	}
	desc := re.ErrorDescription
	if i := strings.Index(desc, "\r\n"); i > 0 {
		desc = desc[:i] // Entra appends trace and correlation ids
	}
	switch {
	case strings.Contains(desc, "AADSTS7000215") || re.ErrorCode == "invalid_client":
		return "Entra refused the client secret (" + desc + ")",
			"set MICROSOFT_APP_PASSWORD to the secret's Value (not its Secret ID) from the app registration's Certificates & secrets, or create a new secret"
	case strings.Contains(desc, "AADSTS90002"):
		return "the tenant does not exist (" + desc + ")", "set MICROSOFT_APP_TENANT_ID to the Directory (tenant) ID on the app registration's Overview page"
	case strings.Contains(desc, "AADSTS700016") || re.ErrorCode == "unauthorized_client":
		if cfg.AppType == appTypeMultiTenant {
			return "the app is not known to the Bot Framework tenant (" + desc + ")",
				"multi-tenant bots can no longer be created: register the bot as single tenant and set MICROSOFT_APP_TYPE=SingleTenant with MICROSOFT_APP_TENANT_ID"
		}
		return "the app is not registered in tenant " + cfg.AppTenantID + " (" + desc + ")",
			"check MICROSOFT_APP_ID (the Application (client) ID) and MICROSOFT_APP_TENANT_ID (the tenant of that app registration)"
	}
	return "Entra refused the request (" + re.ErrorCode + ": " + desc + ")", "check MICROSOFT_APP_ID, MICROSOFT_APP_PASSWORD, MICROSOFT_APP_TYPE and MICROSOFT_APP_TENANT_ID"
}

func (d *doctor) serviceNow(ctx context.Context, cfg *Config) {
	ctx, cancel := context.WithTimeout(ctx, d.deadline)
	defer cancel()
	ac := authConfig(cfg, &http.Client{Timeout: outboundTimeout})
	other := map[string]string{"body": "basic", "basic": "body"}[cfg.ClientAuth]

	res, detail, err := auth.ProbeClientCredentials(ctx, ac, cfg.ClientAuth)
	if err != nil {
		d.fail(err.Error(), "check SERVICENOW_INSTANCE_URL ("+cfg.InstanceURL+") and that the bot can reach it over HTTPS")
		return
	}
	d.pass("ServiceNow's token endpoint %s/oauth_token.do answers", cfg.InstanceURL)
	switch res {
	case auth.CredentialsAccepted:
		d.pass("ServiceNow accepts SERVICENOW_CLIENT_ID and SERVICENOW_CLIENT_SECRET sent as SERVICENOW_CLIENT_AUTH=%s", cfg.ClientAuth)
		return
	case auth.Unexpected:
		d.fail("ServiceNow's token endpoint answered unexpectedly ("+detail+")",
			"check that SERVICENOW_INSTANCE_URL is the instance itself (https://<name>.service-now.com), not an SSO page or a proxy")
		return
	}
	res2, _, err2 := auth.ProbeClientCredentials(ctx, ac, other)
	if err2 == nil && res2 == auth.CredentialsAccepted {
		d.fail(fmt.Sprintf("ServiceNow refuses the client credentials sent as %s (%s) but accepts them as %s", cfg.ClientAuth, detail, other),
			"set SERVICENOW_CLIENT_AUTH="+other)
		return
	}
	d.fail("ServiceNow refuses the client credentials both as form fields and as a Basic header ("+detail+")",
		"set SERVICENOW_CLIENT_ID and SERVICENOW_CLIENT_SECRET to the Client ID and Client Secret of the Application Registry entry (System OAuth > Application Registry), and check that the entry is active")
}

func (d *doctor) storeAndKey(ctx context.Context, cfg *Config) {
	ctx, cancel := context.WithTimeout(ctx, d.deadline)
	defer cancel()
	if path, ok := strings.CutPrefix(cfg.StoreURL, "bolt://"); ok {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			// Opening would create it here, which is not what a check should do.
			d.note("the store file %s does not exist here: the bot creates it at its first start; the key check needs it", path)
			return
		}
	}
	st, err := openStore(cfg)
	if err != nil {
		if errors.Is(err, boltstore.ErrLocked) {
			d.note("the store is in use by a running snowbot, which opened it: the key check needs the bot stopped, or is done by the bot itself when users sign in")
			return
		}
		d.fail("store: "+err.Error(), "fix STORE_URL, or the permissions of the store's directory")
		return
	}
	defer st.Close()
	if err := st.Ping(ctx); err != nil {
		fix := "check STORE_URL and that the store is reachable"
		if _, entra, _ := redisstore.ParseURL(cfg.StoreURL); entra {
			fix = "with auth=entra the bot signs in to Redis as its Microsoft Entra identity: on App Service the web app needs its managed identity (AZURE_CLIENT_ID = its client id) and an access policy assignment on the Redis database for its object id; run doctor where that identity is available (or after az login as a user with an access policy assignment)"
		}
		d.fail("store "+redactStoreURL(cfg.StoreURL)+" does not answer: "+err.Error(), fix)
		return
	}
	d.pass("store %s opens", redactStoreURL(cfg.StoreURL))
	ac := authConfig(cfg, &http.Client{Timeout: outboundTimeout})
	ac.Store = st
	svc, err := auth.New(ac)
	if err != nil {
		d.fail("TOKEN_ENCRYPTION_KEY: "+err.Error(), "set TOKEN_ENCRYPTION_KEY to base64 of 32 random bytes (openssl rand -base64 32)")
		return
	}
	checked, err := svc.CheckKey(ctx)
	switch {
	case errors.Is(err, auth.ErrKeyMismatch):
		d.fail("TOKEN_ENCRYPTION_KEY does not open the stored sign-ins: "+err.Error(),
			"restore the key used before, or put it in TOKEN_ENCRYPTION_KEY_PREVIOUS; otherwise every user has to sign in again")
	case err != nil:
		d.fail("reading the store: "+err.Error(), "check STORE_URL")
	case checked:
		d.pass("TOKEN_ENCRYPTION_KEY opens the stored sign-ins")
	default:
		d.pass("TOKEN_ENCRYPTION_KEY is well-formed (no stored sign-ins to check it against yet)")
	}
}
