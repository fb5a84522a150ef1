package main

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The deployment must give the bot every setting it requires, under the names
// the bot reads, and secrets only as Key Vault references.
func TestBicepAppSettingsMatchTheConfiguration(t *testing.T) {
	bicep, err := os.ReadFile("deploy/main.bicep")
	if err != nil {
		t.Fatal(err)
	}
	// App Service's own settings, and AZURE_CLIENT_ID, which azidentity reads
	// to pick the user-assigned managed identity.
	appService := []string{"WEBSITES_PORT", "WEBSITES_ENABLE_APP_SERVICE_STORAGE", "AZURE_CLIENT_ID",
		// With telemetry: OpenTelemetry's own settings, which its SDK reads, and the collector sidecar's.
		"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "APPLICATIONINSIGHTS_CONNECTION_STRING", "OTEL_COLLECTOR_CONFIG"}
	set := map[string]string{}
	for _, m := range regexp.MustCompile(`\{ name: '([A-Z_]+)', value: ([^}]+) \}`).FindAllStringSubmatch(string(bicep), -1) {
		set[m[1]] = m[2]
		if !slices.Contains(settingNames, m[1]) && !slices.Contains(appService, m[1]) {
			t.Errorf("the web app gets %s, which snowbot does not read", m[1])
		}
	}
	for _, required := range []string{"PUBLIC_BASE_URL", "SERVICENOW_INSTANCE_URL", "SERVICENOW_CLIENT_ID", "SERVICENOW_CLIENT_SECRET", "TOKEN_ENCRYPTION_KEY", "STORE_URL", "MICROSOFT_APP_ID", "MICROSOFT_APP_PASSWORD"} {
		if _, ok := set[required]; !ok {
			t.Errorf("the web app does not get %s", required)
		}
	}
	for _, secret := range []string{"SERVICENOW_CLIENT_SECRET", "TOKEN_ENCRYPTION_KEY", "MICROSOFT_APP_PASSWORD", "TOKEN_ENCRYPTION_KEY_PREVIOUS", "SERVICENOW_WEBHOOK_SECRET"} {
		if v := set[secret]; !strings.HasPrefix(v, "ref(") {
			t.Errorf("%s is not a Key Vault reference: %s", secret, v)
		}
	}
	if set["WEBSITES_ENABLE_APP_SERVICE_STORAGE"] != "'false'" || strings.Contains(string(bicep), "bolt:///home") {
		t.Error("the store must not be on /home, an SMB share where bbolt's lock and memory map are unreliable")
	}
	if set["WEBSITES_PORT"] != "'3978'" || set["PORT"] != "'3978'" {
		t.Errorf("WEBSITES_PORT %s and PORT %s must agree with the image's port 3978", set["WEBSITES_PORT"], set["PORT"])
	}
}

func TestEverySettingIsDocumented(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range settingNames {
		if !strings.Contains(string(readme), "| `"+name+"` |") {
			t.Errorf("README.md's configuration table lacks %s", name)
		}
	}
}

func TestDockerfileBuildsAStaticNonRootImage(t *testing.T) {
	df, err := os.ReadFile("deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CGO_ENABLED=0", "go build", "-trimpath", "-X main.version=${VERSION}", "-X main.commit=${COMMIT}",
		"USER nonroot", "EXPOSE 3978", `ENTRYPOINT ["/snowbot"]`} {
		if !strings.Contains(string(df), want) {
			t.Errorf("deploy/Dockerfile lacks %q", want)
		}
	}
	if strings.Contains(string(df), "mkdir") {
		t.Error("deploy/Dockerfile makes a directory the image does not use")
	}
	ignore, err := os.ReadFile(".dockerignore")
	if err != nil {
		t.Fatal("no .dockerignore: the build context would carry .env, data/ and node_modules")
	}
	for _, want := range []string{".env", "data/", "test/js/node_modules/", ".git"} {
		if !strings.Contains(string(ignore), want+"\n") {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
	if strings.Count(string(df), "FROM ") < 2 {
		t.Error("deploy/Dockerfile is not multi-stage")
	}
}

// Every secret parameter of the template can be given without committing it:
// the parameters file reads each from the environment (a parameters file
// cannot be overridden inline for a parameter it does not declare).
func TestEverySecretParameterComesFromTheEnvironment(t *testing.T) {
	bicep := readText(t, "deploy/main.bicep")
	params := readText(t, "deploy/main.bicepparam")
	for _, m := range regexp.MustCompile(`@secure\(\)\s+param (\w+) `).FindAllStringSubmatch(bicep, -1) {
		if !regexp.MustCompile(`(?m)^param ` + m[1] + ` = readEnvironmentVariable\('\w+'`).MatchString(params) {
			t.Errorf("the secret parameter %s is not read from the environment in deploy/main.bicepparam", m[1])
		}
	}
}

// App Service keeps Key Vault references for up to a day and a restart does
// not read them again: every place that tells someone to fix one gives the
// refresh call, then the restart.
func TestAKeyVaultReferenceIsFixedWithTheRefreshCall(t *testing.T) {
	const refresh = "config/configreferences/appsettings/refresh?api-version=2022-03-01"
	for _, file := range []string{"config.go", "deploy/README.md", "README.md"} {
		text := readText(t, file)
		if !strings.Contains(text, refresh) {
			t.Errorf("%s does not give the Key Vault references' refresh call", file)
		}
		if strings.Contains(text, "A restart makes App Service read the vault again") {
			t.Errorf("%s says a restart reads the vault again", file)
		}
	}
}

// Two quick pushes neither collide nor deploy an older image last.
func TestTheWorkflowDeploysOneRunAtATimeUnderItsOwnName(t *testing.T) {
	w := readText(t, ".github/workflows/snowbot.yml")
	if !regexp.MustCompile(`(?m)^concurrency:\n  group: [^\n]+\n  cancel-in-progress: false$`).MatchString(w) {
		t.Error("the workflow has no concurrency group that lets a running deployment finish")
	}
	if !strings.Contains(w, `--name "snowbot-${{ github.run_id }}-${{ github.run_attempt }}"`) {
		t.Error("the deployment is not named per run")
	}
}

// The production settings file the guide has people write never reaches git
// or the image.
func TestSettingsFilesAreIgnored(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	if err := exec.Command("git", "rev-parse", "--git-dir").Run(); err != nil {
		t.Skip("not in a git checkout")
	}
	for _, name := range []string{"snowbot.env", "deploy/snowbot.env", ".env", "production.env"} {
		if err := exec.Command("git", "check-ignore", "-q", "--no-index", name).Run(); err != nil {
			t.Errorf("git does not ignore %s", name)
		}
	}
	if err := exec.Command("git", "check-ignore", "-q", "--no-index", ".env.example").Run(); err == nil {
		t.Error("git ignores .env.example, the sample everyone copies")
	}
	ignore := readText(t, ".dockerignore")
	for _, want := range []string{"*.env\n", "**/*.env\n"} {
		if !strings.Contains(ignore, want) {
			t.Errorf(".dockerignore lacks %q", strings.TrimSpace(want))
		}
	}
}

// Publishing with a user name and password is off, and the deploying
// identity may hand out only the two roles the template assigns.
func TestTheDeploymentAllowsNoBasicAuthAndOnlyTwoRoles(t *testing.T) {
	bicep := readText(t, "deploy/main.bicep")
	for _, name := range []string{"ftp", "scm"} {
		if !regexp.MustCompile(`(?s)'Microsoft\.Web/sites/basicPublishingCredentialsPolicies@[0-9-]+' = \{\s+parent: site\s+name: '` + name + `'\s+properties: \{\s+allow: false`).MatchString(bicep) {
			t.Errorf("the web app still allows %s basic publishing credentials", name)
		}
	}
	readme := readText(t, "deploy/README.md")
	const acrPull, secretsUser = "7f951dda-4ed3-4680-a7ca-43fe172d538d", "4633458b-17de-408a-b874-0445c86b69e6"
	start := strings.Index(readme, `az role assignment create --assignee $APP_ID --role "Role Based Access Control Administrator"`)
	if start < 0 {
		t.Fatal("deploy/README.md does not grant Role Based Access Control Administrator")
	}
	var cmd strings.Builder // the command with its continued lines
	for _, line := range strings.SplitAfter(readme[start:], "\n") {
		cmd.WriteString(line)
		if !strings.HasSuffix(strings.TrimRight(line, "\n"), "\\") {
			break
		}
	}
	for _, want := range []string{"--condition-version 2.0", "ActionMatches{'Microsoft.Authorization/roleAssignments/write'}",
		"ActionMatches{'Microsoft.Authorization/roleAssignments/delete'}", "GuidEquals {" + acrPull + ", " + secretsUser + "}"} {
		if !strings.Contains(cmd.String(), want) {
			t.Errorf("the grant of Role Based Access Control Administrator lacks %q:\n%s", want, cmd.String())
		}
	}
}

// The image's bases are pinned by digest: a build today and a rebuild next
// month start from the same bytes, and a bump is a reviewed change.
func TestBaseImagesArePinnedByDigest(t *testing.T) {
	df := readText(t, "deploy/Dockerfile")
	froms := regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllStringSubmatch(df, -1)
	if len(froms) < 2 {
		t.Fatalf("deploy/Dockerfile has %d FROM lines", len(froms))
	}
	for _, m := range froms {
		if !regexp.MustCompile(`^[a-z0-9./_-]+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$`).MatchString(m[1]) {
			t.Errorf("base image %s is not a tag pinned by its digest (name:tag@sha256:…)", m[1])
		}
	}
}

// Telemetry to Azure is there when asked for and changes nothing when not.
func TestTelemetryOnAzureIsOffByDefault(t *testing.T) {
	bicep := readText(t, "deploy/main.bicep")
	for _, want := range []string{"param telemetry bool = false", "linuxFxVersion: telemetry ? 'SITECONTAINERS' : 'DOCKER|${image}'",
		"'Microsoft.Web/sites/sitecontainers@2024-11-01' = if (telemetry)", "'Microsoft.Insights/components@2020-02-02' = if (telemetry)",
		"{ name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://localhost:4318' }", "endpoint: localhost:4318", "exporters: [azuremonitor]"} {
		if !strings.Contains(bicep, want) {
			t.Errorf("deploy/main.bicep lacks %q", want)
		}
	}
	if !regexp.MustCompile(`(?m)^param telemetry = false$`).MatchString(readText(t, "deploy/main.bicepparam")) {
		t.Error("deploy/main.bicepparam does not leave telemetry off")
	}
}
