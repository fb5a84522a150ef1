package main

import (
	"os"
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
	appService := []string{"WEBSITES_PORT", "WEBSITES_ENABLE_APP_SERVICE_STORAGE", "AZURE_CLIENT_ID"}
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
