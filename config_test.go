package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func lookup(m map[string]string) lookupFunc {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

func validEnv() map[string]string {
	return map[string]string{
		"PUBLIC_BASE_URL":          "https://snowbot.example.com/",
		"MICROSOFT_APP_ID":         "5c0b1a2e-7f3d-4e8a-9b6c-1d2e3f4a5b6c",
		"MICROSOFT_APP_PASSWORD":   "pw",
		"MICROSOFT_APP_TENANT_ID":  "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
		"SERVICENOW_INSTANCE_URL":  "https://acme.service-now.com",
		"SERVICENOW_CLIENT_ID":     "id",
		"SERVICENOW_CLIENT_SECRET": "secret",
		"TOKEN_ENCRYPTION_KEY":     "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=",
	}
}

func TestDefaults(t *testing.T) {
	c, err := LoadConfig(lookup(validEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 3978 || c.AppType != appTypeSingleTenant || c.ClientAuth != "body" || !c.PKCE ||
		c.ResolveCode != "Solution provided" || c.StoreURL != "bolt://data/snowbot.db" || c.LogLevel != "info" ||
		c.OpenIDMetadataURL != "https://login.botframework.com/v1/.well-known/openidconfiguration" ||
		c.TokenIssuer != "https://api.botframework.com" || c.LoginURL != "https://login.microsoftonline.com" {
		t.Errorf("defaults: %+v", c)
	}
	if c.RedirectURL() != "https://snowbot.example.com/auth/callback" {
		t.Errorf("redirect URL %q", c.RedirectURL())
	}
	if c.BotTokenURL() != "https://login.microsoftonline.com/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/oauth2/v2.0/token" {
		t.Errorf("bot token URL %q", c.BotTokenURL())
	}
}

func TestMultiTenantTokenURL(t *testing.T) {
	env := validEnv()
	env["MICROSOFT_APP_TYPE"] = "multitenant"
	delete(env, "MICROSOFT_APP_TENANT_ID")
	c, err := LoadConfig(lookup(env))
	if err != nil {
		t.Fatal(err)
	}
	if c.BotTokenURL() != "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token" {
		t.Errorf("bot token URL %q", c.BotTokenURL())
	}
}

func TestEachProblemNamesItsVariable(t *testing.T) {
	cases := map[string]map[string]string{
		"PORT":                          {"PORT": "0"},
		"PUBLIC_BASE_URL":               {"PUBLIC_BASE_URL": "snowbot.example.com"},
		"MICROSOFT_APP_ID":              {"MICROSOFT_APP_ID": "my bot"},
		"MICROSOFT_APP_TYPE":            {"MICROSOFT_APP_TYPE": "Dual"},
		"MICROSOFT_APP_PASSWORD":        {"MICROSOFT_APP_PASSWORD": ""},
		"MICROSOFT_APP_TENANT_ID":       {"MICROSOFT_APP_TENANT_ID": ""},
		"BOT_OPENID_METADATA_URL":       {"BOT_OPENID_METADATA_URL": "http://login.botframework.com/x"},
		"BOT_LOGIN_URL":                 {"BOT_LOGIN_URL": "ftp://login"},
		"ALLOWED_TENANT_IDS":            {"ALLOWED_TENANT_IDS": "contoso"},
		"SERVICENOW_INSTANCE_URL":       {"SERVICENOW_INSTANCE_URL": "https://dev1.service-now.com/?x=1"},
		"SERVICENOW_CLIENT_ID":          {"SERVICENOW_CLIENT_ID": "replace-with-your-client-id"},
		"SERVICENOW_CLIENT_SECRET":      {"SERVICENOW_CLIENT_SECRET": "replace-with-your-client-secret"},
		"SERVICENOW_CLIENT_AUTH":        {"SERVICENOW_CLIENT_AUTH": "header"},
		"SERVICENOW_PKCE":               {"SERVICENOW_PKCE": "maybe"},
		"TOKEN_ENCRYPTION_KEY":          {"TOKEN_ENCRYPTION_KEY": "c2hvcnQ="},
		"TOKEN_ENCRYPTION_KEY_PREVIOUS": {"TOKEN_ENCRYPTION_KEY_PREVIOUS": "nope"},
		"STORE_URL":                     {"STORE_URL": "sqlite://x"},
		"LOG_LEVEL":                     {"LOG_LEVEL": "loud"},
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			env := validEnv()
			for k, v := range edit {
				env[k] = v
			}
			_, err := LoadConfig(lookup(env))
			ce, ok := err.(*ConfigError)
			if !ok || len(ce.Problems) != 1 || !strings.HasPrefix(ce.Problems[0], name+": ") {
				t.Fatalf("want one problem naming %s, got %v", name, err)
			}
		})
	}
}

func TestSampleKeyIsRefusedOutsideDevelopment(t *testing.T) {
	env := validEnv()
	env["TOKEN_ENCRYPTION_KEY"] = sampleEncryptionKey
	if _, err := LoadConfig(lookup(env)); err == nil || !strings.Contains(err.Error(), "sample key") {
		t.Fatalf("sample key accepted in production: %v", err)
	}
	env["MICROSOFT_APP_ID"] = ""
	env["PUBLIC_BASE_URL"] = "http://localhost:3978" // development mode serves this machine only
	if _, err := LoadConfig(lookup(env)); err != nil {
		t.Fatalf("sample key refused in development mode: %v", err)
	}
}

func TestDevelopmentModeNeedsALocalAddress(t *testing.T) {
	env := validEnv()
	env["MICROSOFT_APP_ID"] = ""
	_, err := LoadConfig(lookup(env))
	ce, ok := err.(*ConfigError)
	if !ok || len(ce.Problems) != 1 || !strings.Contains(ce.Problems[0], "MICROSOFT_APP_ID") || !strings.Contains(ce.Problems[0], "PUBLIC_BASE_URL") {
		t.Fatalf("development mode with a public address: %v", err)
	}
	for _, local := range []string{"http://localhost:3978", "http://127.0.0.1:3978", "http://[::1]:3978"} {
		env["PUBLIC_BASE_URL"] = local
		if _, err := LoadConfig(lookup(env)); err != nil {
			t.Errorf("%s refused in development mode: %v", local, err)
		}
	}
}

func TestEnvironmentWinsOverDotEnv(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("SNOWBOT_TEST_A=from-file\nSNOWBOT_TEST_B=from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SNOWBOT_TEST_A", "from-env")
	get, err := environment(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := get("SNOWBOT_TEST_A"); v != "from-env" {
		t.Errorf("A = %q, want from-env", v)
	}
	if v, _ := get("SNOWBOT_TEST_B"); v != "from-file" {
		t.Errorf("B = %q, want from-file", v)
	}
}

func TestRedisURLErrorDoesNotEchoThePassword(t *testing.T) {
	env := validEnv()
	env["STORE_URL"] = "redis://:hunter2@host:notaport/0"
	_, err := LoadConfig(lookup(env))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v", err)
	}
}

// App Service passes a Key Vault reference it could not resolve on as it is:
// each such setting is one problem that says so, never taken as the secret.
func TestAnUnresolvedKeyVaultReferenceIsNamedAsSuch(t *testing.T) {
	for _, name := range []string{"SERVICENOW_CLIENT_SECRET", "SERVICENOW_WEBHOOK_SECRET", "TOKEN_ENCRYPTION_KEY", "MICROSOFT_APP_PASSWORD", "STORE_URL"} {
		t.Run(name, func(t *testing.T) {
			env := validEnv()
			env[name] = "@Microsoft.KeyVault(VaultName=kv-contoso-abc;SecretName=some-secret)"
			_, err := LoadConfig(lookup(env))
			ce, ok := err.(*ConfigError)
			if !ok || len(ce.Problems) != 1 || !strings.HasPrefix(ce.Problems[0], name+": is a Key Vault reference") {
				t.Fatalf("want one problem naming the unresolved reference in %s, got %v", name, err)
			}
			if !strings.Contains(ce.Fixes[0], "Key Vault Secrets User") {
				t.Errorf("the fix does not name the role: %q", ce.Fixes[0])
			}
		})
	}
}

// Settings that cannot work are refused at start, each with a line that says
// what to change.
func TestSettingsThatCannotWorkAreRefused(t *testing.T) {
	cases := []struct {
		name, value string
		want        []string
	}{
		{"PUBLIC_BASE_URL", "https://snowbot.example.com/api/messages", []string{"drop the path /api/messages", "https://snowbot.example.com"}},
		{"SERVICENOW_INSTANCE_URL", "https://acme.service-now.com/now/nav/ui/home", []string{"drop the path /now/nav/ui/home", "https://acme.service-now.com"}},
		{"SERVICENOW_INSTANCE_URL", "https://acme.service-now.com/?id=1#top", []string{"the query ?id=1", "the fragment #top"}},
		{"SERVICENOW_INSTANCE_URL", "https://dev12345.service-now.com", []string{"sample placeholder", "snowbot demo", "snowbot doctor"}},
		{"SERVICENOW_NUMBER_PREFIXES", "PRB=problem", []string{"PREFIX:table pairs"}},
		{"SERVICENOW_SEARCH_TABLES", "incident,change request", []string{`"change request" is not a table name`}},
		{"SERVICENOW_SEARCH_TABLES", "a,b,c,d,e,f,g,h,i", []string{"more than 8 tables"}},
	}
	for _, c := range cases {
		env := validEnv()
		env[c.name] = c.value
		_, err := LoadConfig(lookup(env))
		ce, ok := err.(*ConfigError)
		if !ok || len(ce.Problems) != 1 || !strings.HasPrefix(ce.Problems[0], c.name+": ") {
			t.Errorf("%s=%s: want one problem naming it, got %v", c.name, c.value, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(ce.Problems[0], w) {
				t.Errorf("%s=%s: %q lacks %q", c.name, c.value, ce.Problems[0], w)
			}
		}
	}
	// Prefixes and search tables are read as given.
	env := validEnv()
	env["SERVICENOW_NUMBER_PREFIXES"] = "PTASK:problem_task, HRC:sn_hr_core_case"
	env["SERVICENOW_SEARCH_TABLES"] = "incident, sn_hr_core_case"
	c, err := LoadConfig(lookup(env))
	if err != nil || strings.Join(c.SearchTables, ",") != "incident,sn_hr_core_case" {
		t.Fatalf("search tables: %v, %v", c.SearchTables, err)
	}
	for number, want := range map[string]string{"HRC0001234": "sn_hr_core_case", "PTASK0010001": "problem_task", "INC0010001": "incident"} {
		if table, _, _, _ := c.Prefixes.Table(number); table != want {
			t.Errorf("%s is in %q, want %q", number, table, want)
		}
	}
	// A site root with a slash is fine.
	env = validEnv()
	env["SERVICENOW_INSTANCE_URL"] = "https://acme.service-now.com/"
	if c, err := LoadConfig(lookup(env)); err != nil || c.InstanceURL != "https://acme.service-now.com" {
		t.Errorf("a trailing slash: %v", err)
	}
	// On this machine, the address and the port must agree.
	env = validEnv()
	env["MICROSOFT_APP_ID"] = ""
	env["PUBLIC_BASE_URL"] = "http://localhost:3978"
	env["PORT"] = "3979"
	if _, err := LoadConfig(lookup(env)); err == nil || !strings.Contains(err.Error(), "PORT=3979") || !strings.HasPrefix(err.Error(), "PUBLIC_BASE_URL: ") {
		t.Errorf("a port that PUBLIC_BASE_URL does not name: %v", err)
	}
}

// The three placeholders of .env.example are each named.
func TestTheSamplePlaceholdersAreEachNamed(t *testing.T) {
	env := validEnv()
	env["SERVICENOW_INSTANCE_URL"] = "https://dev12345.service-now.com"
	env["SERVICENOW_CLIENT_ID"] = "replace-with-your-client-id"
	env["SERVICENOW_CLIENT_SECRET"] = "replace-with-your-client-secret"
	_, err := LoadConfig(lookup(env))
	ce, ok := err.(*ConfigError)
	if !ok || len(ce.Problems) != 3 {
		t.Fatalf("want three problems, got %v", err)
	}
	for i, name := range []string{"SERVICENOW_INSTANCE_URL", "SERVICENOW_CLIENT_ID", "SERVICENOW_CLIENT_SECRET"} {
		if !strings.HasPrefix(ce.Problems[i], name+": is still the sample placeholder") {
			t.Errorf("problem %d: %s", i, ce.Problems[i])
		}
	}
}

// Telemetry speaks OTLP over HTTP only: asking for gRPC is a configuration
// problem named at start, not exports that fail all day.
func TestAnOTLPProtocolOtherThanHTTPIsRefused(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4317")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	_, err := LoadConfig(lookup(validEnv()))
	var ce *ConfigError
	if !errors.As(err, &ce) || len(ce.Problems) != 1 || !strings.HasPrefix(ce.Problems[0], "OTEL_EXPORTER_OTLP_PROTOCOL: snowbot sends OTLP over HTTP only") {
		t.Fatalf("got %v", err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	if _, err := LoadConfig(lookup(validEnv())); err != nil {
		t.Fatal(err)
	}
}

// OTEL_* settings in .env reach OpenTelemetry's SDK, which reads the
// process's environment; the environment wins over the file.
func TestOTELSettingsInTheEnvFileReachTheSDK(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("OTEL_SERVICE_NAME=from-file\nOTEL_RESOURCE_ATTRIBUTES=a=file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "a=env")
	os.Unsetenv("OTEL_SERVICE_NAME")
	t.Cleanup(func() { os.Unsetenv("OTEL_SERVICE_NAME") })
	if _, err := environment(dir); err != nil {
		t.Fatal(err)
	}
	if got := os.Getenv("OTEL_SERVICE_NAME"); got != "from-file" {
		t.Errorf("OTEL_SERVICE_NAME is %q", got)
	}
	if got := os.Getenv("OTEL_RESOURCE_ATTRIBUTES"); got != "a=env" {
		t.Errorf("OTEL_RESOURCE_ATTRIBUTES is %q: the environment must win", got)
	}
}
