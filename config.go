package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/joho/godotenv"

	"snowbot/auth/store/redisstore"
	"snowbot/bot/chat"
	"snowbot/manifest"
	"snowbot/servicenow"
	"snowbot/telemetry"
)

// App types accepted in MICROSOFT_APP_TYPE.
const (
	appTypeSingleTenant    = "SingleTenant"
	appTypeMultiTenant     = "MultiTenant"
	appTypeUserAssignedMSI = "UserAssignedMSI"
)

// sampleEncryptionKey is the key shipped in .env.example so that the bot runs on a
// fresh machine. It is public, so it is refused whenever the bot talks to a real
// Bot Framework channel.
const sampleEncryptionKey = "c25vd2JvdC1zYW1wbGUta2V5LWRvLW5vdC11c2UtaXQ="

// minWebhookSecret is the shortest SERVICENOW_WEBHOOK_SECRET accepted.
const minWebhookSecret = 32

// settingNames are every variable LoadConfig reads.
var settingNames = []string{
	"PORT", "PUBLIC_BASE_URL", "MICROSOFT_APP_ID", "MICROSOFT_APP_PASSWORD", "MICROSOFT_APP_TYPE",
	"MICROSOFT_APP_TENANT_ID", "BOT_OPENID_METADATA_URL", "BOT_TOKEN_ISSUER", "BOT_LOGIN_URL",
	"ALLOWED_TENANT_IDS", "SERVICENOW_INSTANCE_URL", "SERVICENOW_CLIENT_ID", "SERVICENOW_CLIENT_SECRET",
	"SERVICENOW_CLIENT_AUTH", "SERVICENOW_OAUTH_SCOPE", "SERVICENOW_PKCE", "SERVICENOW_RESOLVE_CODE", "SERVICENOW_WEBHOOK_SECRET",
	"SERVICENOW_NUMBER_PREFIXES", "SERVICENOW_SEARCH_TABLES",
	"TOKEN_ENCRYPTION_KEY", "TOKEN_ENCRYPTION_KEY_PREVIOUS", "STORE_URL", "LOG_LEVEL",
}

// Config is every setting of the bot, read once at start.
type Config struct {
	Port          int
	PublicBaseURL string // no trailing slash

	AppID       string
	AppPassword string
	AppType     string
	AppTenantID string

	OpenIDMetadataURL string
	TokenIssuer       string
	LoginURL          string // no trailing slash

	AllowedTenantIDs []string

	InstanceURL    string // no trailing slash
	ClientID       string
	ClientSecret   string
	ClientAuth     string // "body" or "basic"
	OAuthScope     string
	PKCE           bool
	ResolveCode    string
	WebhookSecret  string // empty: no change events, no notifications
	Prefixes       servicenow.Prefixes
	SearchTables   []string
	EncryptionKey  []byte
	PreviousKeys   [][]byte
	StoreURL       string
	LogLevel       string
	usingSampleKey bool
}

// DevelopmentMode reports whether the bot runs without a Bot Framework identity.
func (c *Config) DevelopmentMode() bool { return c.AppID == "" }

// RedirectURL is the OAuth redirect URI that ServiceNow must have registered.
func (c *Config) RedirectURL() string { return c.PublicBaseURL + "/auth/callback" }

// BotTokenURL is the Entra token endpoint for bot-to-channel tokens.
func (c *Config) BotTokenURL() string {
	tenant := "botframework.com"
	if c.AppType == appTypeSingleTenant {
		tenant = c.AppTenantID
	}
	return c.LoginURL + "/" + url.PathEscape(tenant) + "/oauth2/v2.0/token"
}

// ConfigError lists every problem found in the configuration, one line each,
// and for some of them the exact fix (Fixes[i] belongs to Problems[i]; empty
// when the line says it already).
type ConfigError struct {
	Problems []string
	Fixes    []string
}

func (e *ConfigError) Error() string { return strings.Join(e.Problems, "\n") }

// lookupFunc returns a setting's value and whether it is set.
type lookupFunc func(name string) (string, bool)

// environment returns the process environment layered over the .env file in dir:
// a variable set in the environment wins over the file.
func environment(dir string) (lookupFunc, error) {
	file := map[string]string{}
	path := ".env"
	if dir != "" {
		path = dir + string(os.PathSeparator) + ".env"
	}
	if _, err := os.Stat(path); err == nil {
		m, err := godotenv.Read(path)
		if err != nil {
			return nil, fmt.Errorf(".env: cannot be read: %w", err)
		}
		file = m
	}
	for name, value := range file {
		// OpenTelemetry's SDK reads its settings from the process's
		// environment: hand it those of the file, the environment winning.
		if _, set := os.LookupEnv(name); !set && strings.HasPrefix(name, "OTEL_") {
			_ = os.Setenv(name, value)
		}
	}
	return func(name string) (string, bool) {
		if v, ok := os.LookupEnv(name); ok {
			return v, true
		}
		v, ok := file[name]
		return v, ok
	}, nil
}

var (
	tableName     = regexp.MustCompile(`^[a-z][a-z0-9_]{0,79}$`)
	guidPattern   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainPattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$`)
)

// LoadConfig reads and validates every setting. It returns a *ConfigError naming
// each bad or missing variable, so an operator sees every problem at once.
func LoadConfig(get lookupFunc) (*Config, error) {
	v := newValidator(get)
	c := &Config{}
	c.readTeams(v)
	c.readServiceNow(v)
	c.readStorage(v)
	if err := telemetry.Check(); err != nil {
		name, msg, _ := strings.Cut(err.Error(), ": ")
		name, _, _ = strings.Cut(name, "=")
		v.problems = append(v.problems, name+": "+msg)
		v.fixes = append(v.fixes, "set "+name+"=http/protobuf, or leave it out")
	}
	if len(v.problems) > 0 {
		return nil, &ConfigError{Problems: v.problems, Fixes: v.fixes}
	}
	return c, nil
}

// readTeams reads where the bot is reached and how it talks to Teams.
func (c *Config) readTeams(v *validator) {
	c.Port = v.port("PORT", 3978)
	c.PublicBaseURL = v.siteRoot("PUBLIC_BASE_URL",
		"where Teams and browsers reach the bot, e.g. https://snowbot.azurewebsites.net",
		"the bot adds /api/messages and /auth/callback itself")
	if u, err := url.Parse(c.PublicBaseURL); err == nil && c.PublicBaseURL != "" && v.str("MICROSOFT_APP_ID", "") == "" && isLoopbackHost(u.Hostname()) && portOf(u) != c.Port {
		// In development mode the bot serves this machine directly, so its
		// address must be its own port. (Behind a proxy on the same host, a
		// fleet's instances may listen elsewhere: that needs MICROSOFT_APP_ID.)
		v.fail("PUBLIC_BASE_URL", fmt.Sprintf("%s is this machine, but the bot listens on PORT=%d: use the same port in both (PUBLIC_BASE_URL=http://localhost:%d)",
			c.PublicBaseURL, c.Port, c.Port))
	}

	c.AppID = v.str("MICROSOFT_APP_ID", "")
	if c.AppID != "" && !guidPattern.MatchString(c.AppID) {
		v.fail("MICROSOFT_APP_ID", "must be the bot's Entra application (client) ID, a GUID like 00000000-0000-0000-0000-000000000000; leave it empty only for local development")
	}
	if c.AppID == "" && c.PublicBaseURL != "" && !isLoopbackHost(hostOf(c.PublicBaseURL)) {
		v.fail("MICROSOFT_APP_ID", "is empty, which is development mode for this machine only, but PUBLIC_BASE_URL "+c.PublicBaseURL+
			" is not on this machine: set MICROSOFT_APP_ID (and MICROSOFT_APP_PASSWORD, MICROSOFT_APP_TENANT_ID) to serve Teams, or PUBLIC_BASE_URL=http://localhost:"+strconv.Itoa(c.Port)+" to develop")
	}
	c.AppType = v.oneOf("MICROSOFT_APP_TYPE", appTypeSingleTenant, appTypeSingleTenant, appTypeMultiTenant, appTypeUserAssignedMSI)
	c.AppPassword = v.str("MICROSOFT_APP_PASSWORD", "")
	c.AppTenantID = v.str("MICROSOFT_APP_TENANT_ID", "")
	if c.AppID != "" {
		if c.AppType != appTypeUserAssignedMSI && c.AppPassword == "" {
			v.fail("MICROSOFT_APP_PASSWORD", "is required with MICROSOFT_APP_TYPE="+c.AppType+": set it to a client secret of the bot's Entra app registration")
		}
		if (c.AppType == appTypeSingleTenant || c.AppType == appTypeUserAssignedMSI) && c.AppTenantID == "" {
			v.fail("MICROSOFT_APP_TENANT_ID", "is required with MICROSOFT_APP_TYPE="+c.AppType+": set it to the Entra tenant (directory) ID of the bot's app registration")
		}
	}
	if c.AppTenantID != "" && !guidPattern.MatchString(c.AppTenantID) && !domainPattern.MatchString(c.AppTenantID) {
		v.fail("MICROSOFT_APP_TENANT_ID", "must be a tenant ID (a GUID) or a tenant domain such as contoso.onmicrosoft.com")
	}

	c.OpenIDMetadataURL = v.absURL("BOT_OPENID_METADATA_URL", "https://login.botframework.com/v1/.well-known/openidconfiguration")
	c.TokenIssuer = v.str("BOT_TOKEN_ISSUER", "https://api.botframework.com")
	if c.TokenIssuer == "" {
		v.fail("BOT_TOKEN_ISSUER", "must not be empty; the default is https://api.botframework.com")
	}
	c.LoginURL = strings.TrimRight(v.absURL("BOT_LOGIN_URL", "https://login.microsoftonline.com"), "/")

	for _, t := range strings.Split(v.str("ALLOWED_TENANT_IDS", ""), ",") {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if !guidPattern.MatchString(t) {
			v.fail("ALLOWED_TENANT_IDS", fmt.Sprintf("%q is not a tenant ID; expected comma-separated GUIDs", t))
			continue
		}
		c.AllowedTenantIDs = append(c.AllowedTenantIDs, strings.ToLower(t))
	}
}

// readServiceNow reads the instance and how snowbot signs people in to it.
func (c *Config) readServiceNow(v *validator) {
	c.InstanceURL = v.siteRoot("SERVICENOW_INSTANCE_URL", "the ServiceNow instance, e.g. https://acme.service-now.com",
		"snowbot needs the instance's address alone, not a page of it")
	c.ClientID = v.required("SERVICENOW_CLIENT_ID", "the client ID of the ServiceNow Application Registry entry (System OAuth > Application Registry)")
	c.ClientSecret = v.required("SERVICENOW_CLIENT_SECRET", "the client secret of the ServiceNow Application Registry entry")
	for _, s := range [][2]string{{"SERVICENOW_INSTANCE_URL", c.InstanceURL}, {"SERVICENOW_CLIENT_ID", c.ClientID}, {"SERVICENOW_CLIENT_SECRET", c.ClientSecret}} {
		if name, value := s[0], s[1]; isPlaceholder(value) {
			v.failFix(name, "is still the sample placeholder "+strconv.Quote(value)+" of .env.example: set your instance's value, or run `snowbot demo` to try snowbot with a built-in demo ServiceNow instance (`snowbot doctor` checks a configuration)",
				"set "+name+" to your ServiceNow instance's value (see README.md, Configuration), or run snowbot demo to try snowbot without one")
		}
	}
	c.ClientAuth = strings.ToLower(v.oneOf("SERVICENOW_CLIENT_AUTH", "body", "body", "basic"))
	c.OAuthScope = strings.TrimSpace(v.str("SERVICENOW_OAUTH_SCOPE", ""))
	c.PKCE = v.boolean("SERVICENOW_PKCE", true)
	c.ResolveCode = strings.TrimSpace(v.str("SERVICENOW_RESOLVE_CODE", "Solution provided"))
	if c.ResolveCode == "" {
		v.fail("SERVICENOW_RESOLVE_CODE", "must not be empty: set the resolution code your instance uses, e.g. \"Solution provided\" or \"Solved (Permanently)\"")
	}

	prefixes, err := servicenow.ParsePrefixes(v.str("SERVICENOW_NUMBER_PREFIXES", ""))
	if err != nil {
		v.fail("SERVICENOW_NUMBER_PREFIXES", "must be comma-separated PREFIX:table pairs, as PRB:problem,PTASK:problem_task: "+err.Error())
	}
	c.Prefixes = prefixes
	for _, table := range strings.Split(v.str("SERVICENOW_SEARCH_TABLES", "incident,change_request,problem,sc_req_item"), ",") {
		table = strings.TrimSpace(table)
		switch {
		case table == "":
		case !tableName.MatchString(table):
			v.fail("SERVICENOW_SEARCH_TABLES", fmt.Sprintf("%q is not a table name; expected comma-separated table names such as incident,change_request", table))
		default:
			c.SearchTables = append(c.SearchTables, table)
		}
	}
	if len(c.SearchTables) > 8 {
		v.fail("SERVICENOW_SEARCH_TABLES", "names more than 8 tables: each is one call to ServiceNow within the 5 seconds Teams waits")
	}

	c.WebhookSecret = v.str("SERVICENOW_WEBHOOK_SECRET", "")
	if n := len(c.WebhookSecret); n > 0 && n < minWebhookSecret {
		v.failFix("SERVICENOW_WEBHOOK_SECRET", fmt.Sprintf("is %d characters long; a secret that signs change events needs at least %d: generate one with: openssl rand -hex 32", n, minWebhookSecret),
			"set SERVICENOW_WEBHOOK_SECRET to the output of: openssl rand -hex 32, and the same value in ServiceNow's snowbot.webhook_secret system property (or leave it empty to turn notifications off)")
	}
}

// readStorage reads the keys, the store and the log level.
func (c *Config) readStorage(v *validator) {
	c.EncryptionKey = v.key("TOKEN_ENCRYPTION_KEY", true)
	if raw, ok := v.get("TOKEN_ENCRYPTION_KEY"); ok && strings.TrimSpace(raw) == sampleEncryptionKey {
		c.usingSampleKey = true
		if c.AppID != "" {
			v.failFix("TOKEN_ENCRYPTION_KEY", "is the public sample key from .env.example; generate your own with: openssl rand -base64 32",
				"set TOKEN_ENCRYPTION_KEY to the output of: openssl rand -base64 32 (the sample key is published, so anyone could read the stored tokens)")
		}
	}
	for _, k := range strings.Split(v.str("TOKEN_ENCRYPTION_KEY_PREVIOUS", ""), ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		if b, ok := decodeKey(k); ok {
			c.PreviousKeys = append(c.PreviousKeys, b)
		} else {
			v.fail("TOKEN_ENCRYPTION_KEY_PREVIOUS", "must be comma-separated base64 keys of 32 bytes each (the keys used before the current TOKEN_ENCRYPTION_KEY)")
		}
	}

	c.StoreURL = v.store("STORE_URL", "bolt://data/snowbot.db")
	c.LogLevel = strings.ToLower(v.oneOf("LOG_LEVEL", "info", "debug", "info", "warn", "error"))
}

// validator collects problems instead of stopping at the first one.
type validator struct {
	get        lookupFunc
	problems   []string
	fixes      []string
	unresolved map[string]bool // settings holding a Key Vault reference App Service could not resolve
}

// keyVaultReference starts a Key Vault reference. App Service replaces one
// with the secret, or, when it cannot read the secret (the role assignment
// has not reached the vault yet, the secret is missing), passes the reference
// on unchanged: taken as the secret it would fail far from its cause, or,
// for a signing secret, even seem to work.
const keyVaultReference = "@Microsoft.KeyVault("

// newValidator reads settings through get, reporting each unresolved Key
// Vault reference once, as the only problem of its setting.
func newValidator(get lookupFunc) *validator {
	v := &validator{unresolved: map[string]bool{}}
	v.get = func(name string) (string, bool) {
		s, ok := get(name)
		if !ok || !strings.HasPrefix(strings.TrimSpace(s), keyVaultReference) {
			return s, ok
		}
		if !v.unresolved[name] {
			v.unresolved[name] = true
			v.problems = append(v.problems, name+": is a Key Vault reference that App Service could not resolve, so the secret never reached the bot: the web app's identity needs the Key Vault Secrets User role on the vault and the secret must exist; then have App Service read the references again and restart the app")
			v.fixes = append(v.fixes, "give the web app's identity the Key Vault Secrets User role on the vault (the Bicep template does) and check that the secret exists; then make App Service read its Key Vault references again (a restart alone keeps what it read, for up to a day) and restart: "+keyVaultRefresh)
		}
		return "", false
	}
	return v
}

func (v *validator) fail(name, msg string) { v.failFix(name, msg, "") }

func (v *validator) failFix(name, msg, fix string) {
	if v.unresolved[name] {
		return // already reported as the reason
	}
	v.problems = append(v.problems, name+": "+msg)
	v.fixes = append(v.fixes, fix)
}

// str returns the trimmed value, or def when unset or blank.
func (v *validator) str(name, def string) string {
	s, ok := v.get(name)
	if !ok || strings.TrimSpace(s) == "" {
		return def
	}
	return strings.TrimSpace(s)
}

func (v *validator) required(name, what string) string {
	s := v.str(name, "")
	if s == "" {
		v.fail(name, "is required: "+what)
	}
	return s
}

func (v *validator) port(name string, def int) int {
	s := v.str(name, "")
	if s == "" {
		return def
	}
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		v.fail(name, fmt.Sprintf("must be a port number between 1 and 65535, got %q", s))
		return def
	}
	return p
}

func (v *validator) oneOf(name, def string, choices ...string) string {
	s := v.str(name, def)
	for _, c := range choices {
		if strings.EqualFold(s, c) {
			return c
		}
	}
	v.fail(name, fmt.Sprintf("must be one of %s, got %q", strings.Join(choices, ", "), s))
	return def
}

func (v *validator) boolean(name string, def bool) bool {
	s := strings.ToLower(v.str(name, ""))
	switch s {
	case "":
		return def
	case "true", "1", "yes", "on":
		return true
	case "false", "0", "no", "off":
		return false
	}
	v.fail(name, fmt.Sprintf("must be true or false, got %q", s))
	return def
}

// absURL checks an absolute http(s) URL; plain http is accepted only for loopback hosts.
func (v *validator) absURL(name, def string) string {
	s := v.str(name, def)
	if msg := checkURL(s); msg != "" {
		v.fail(name, msg)
	}
	return s
}

// siteRoot is a required absolute URL of a site's root: a scheme and a host
// (and port), nothing after them but a slash, which is removed. A URL with
// more (a page pasted from the browser, say) is refused, saying what to drop.
func (v *validator) siteRoot(name, what, why string) string {
	s := v.str(name, "")
	if s == "" {
		v.fail(name, "is required: "+what)
		return ""
	}
	if msg := checkURL(s); msg != "" {
		v.fail(name, msg+" ("+what+")")
		return ""
	}
	u, _ := url.Parse(s)
	var extra []string
	if p := u.EscapedPath(); p != "" && p != "/" {
		extra = append(extra, "the path "+p)
	}
	if u.RawQuery != "" || u.ForceQuery {
		extra = append(extra, "the query ?"+u.RawQuery)
	}
	if u.Fragment != "" {
		extra = append(extra, "the fragment #"+u.EscapedFragment())
	}
	if len(extra) > 0 {
		v.fail(name, fmt.Sprintf("must be the site's address alone, %s://%s: drop %s (%s)", u.Scheme, u.Host, strings.Join(extra, " and "), why))
		return ""
	}
	return strings.TrimRight(s, "/")
}

// portOf is a URL's port, explicit or its scheme's.
func portOf(u *url.URL) int {
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return p
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}

// placeholderInstance is the instance address .env.example ships with.
const placeholderInstance = "https://dev12345.service-now.com"

// isPlaceholder reports whether a value is one of the samples of .env.example
// (or of the deployment's parameters file), which cannot work.
func isPlaceholder(value string) bool {
	v := strings.ToLower(strings.TrimRight(strings.TrimSpace(value), "/"))
	return v == placeholderInstance || strings.HasPrefix(v, "replace-with")
}

func checkURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Sprintf("must be an absolute https URL, got %q", s)
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		return fmt.Sprintf("must use https (http is accepted only for localhost), got %q", s)
	}
	if u.User != nil {
		return "must not contain a user name or password"
	}
	return ""
}

// hostOf is the host name of a URL.
func hostOf(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return u
	}
	return pu.Hostname()
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (v *validator) key(name string, required bool) []byte {
	s := v.str(name, "")
	if s == "" {
		if required {
			v.fail(name, "is required: base64 of 32 random bytes, generate one with: openssl rand -base64 32")
		}
		return nil
	}
	b, ok := decodeKey(s)
	if !ok {
		v.fail(name, "must be base64 of exactly 32 random bytes; generate one with: openssl rand -base64 32")
	}
	return b
}

func decodeKey(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, true
		}
	}
	return nil, false
}

func (v *validator) store(name, def string) string {
	s := v.str(name, def)
	switch {
	case strings.HasPrefix(s, "bolt://"):
		if strings.TrimPrefix(s, "bolt://") == "" {
			v.fail(name, "bolt:// needs a file path, e.g. bolt://data/snowbot.db")
		}
	case strings.HasPrefix(s, "redis://"), strings.HasPrefix(s, "rediss://"):
		if _, _, err := redisstore.ParseURL(s); err != nil {
			v.fail(name, "is not a valid Redis URL: "+redactURLError(err))
		}
	default:
		v.fail(name, "must start with bolt:// (embedded, one instance) or redis:// / rediss:// (several instances)")
	}
	return s
}

// redactURLError keeps a URL parse error from echoing a password back into a log.
func redactURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	msg := err.Error()
	if i := strings.Index(msg, "://"); i >= 0 {
		return "malformed URL"
	}
	return msg
}

// packageSettings reads what the Teams app package needs: the bot's identity
// and hosts from the bot's own settings, and the app's name, version and links
// from TEAMS_* settings with defaults. It needs no secret; the manifest
// package checks the values and names the setting of each problem.
func packageSettings(get lookupFunc) manifest.Settings {
	v := newValidator(get)
	base := strings.TrimRight(v.str("PUBLIC_BASE_URL", ""), "/")
	s := manifest.Settings{
		AppID:         v.str("MICROSOFT_APP_ID", ""),
		PublicBaseURL: base,
		InstanceURL:   strings.TrimRight(v.str("SERVICENOW_INSTANCE_URL", ""), "/"),
		Version:       v.str("TEAMS_APP_VERSION", "1.0.0"),
		Name:          v.str("TEAMS_APP_NAME", "snowbot"),
		DeveloperName: v.str("TEAMS_DEVELOPER_NAME", "snowbot"),
		WebsiteURL:    v.str("TEAMS_DEVELOPER_URL", base),
		PrivacyURL:    v.str("TEAMS_PRIVACY_URL", base+"/privacy"),
		TermsURL:      v.str("TEAMS_TERMS_URL", base+"/terms"),
	}
	for _, c := range chat.Commands {
		if c.Menu {
			s.Commands = append(s.Commands, manifest.Command{Title: c.Name, Description: c.Usage + ": " + c.Description})
		}
	}
	for _, c := range chat.ComposeCommands {
		s.Searches = append(s.Searches, manifest.Search{ID: c.ID, Title: c.Title, Description: c.Description,
			Parameter: chat.ParamQuery, ParamTitle: c.ParamTitle, ParamHint: c.ParamHint})
	}
	for _, a := range chat.MessageActions {
		s.Actions = append(s.Actions, manifest.Action{ID: a.ID, Title: a.Title, Description: a.Description})
	}
	return s
}

// listenPort reads PORT alone (the demo chooses everything else itself).
func listenPort(get lookupFunc) (int, error) {
	v := newValidator(get)
	port := v.port("PORT", 3978)
	if len(v.problems) > 0 {
		return 0, &ConfigError{Problems: v.problems, Fixes: v.fixes}
	}
	return port, nil
}

// keyVaultRefresh makes App Service read a web app's Key Vault references
// again, then restarts it: App Service caches them for up to a day, and a
// restart alone does not read them again.
const keyVaultRefresh = `az rest --method post --uri "https://management.azure.com$(az webapp show -g <group> -n <app> --query id -o tsv)/config/configreferences/appsettings/refresh?api-version=2022-03-01" && az webapp restart -g <group> -n <app>`
