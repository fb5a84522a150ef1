package test

import (
	"archive/zip"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestManifestCommandWritesAPackageTheOfficialSchemaAccepts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{
		"SNOWBOT_TEST_DIR":        dir,
		"MICROSOFT_APP_ID":        "5c0b1a2e-7f3d-4e8a-9b6c-1d2e3f4a5b6c",
		"PUBLIC_BASE_URL":         "https://snowbot.contoso.com",
		"SERVICENOW_INSTANCE_URL": "https://contoso.service-now.com",
		"TEAMS_APP_VERSION":       "2.1.0",
	}
	p := launch(t, env, "manifest")
	if code, _ := p.Wait(20 * time.Second); code != 0 {
		t.Fatalf("snowbot manifest exited %d:\n%s", code, p.Logs())
	}
	path := filepath.Join(dir, "snowbot-teams-app.zip")
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
		rc, _ := f.Open()
		switch f.Name {
		case "manifest.json":
			out, _ := os.Create(filepath.Join(dir, "manifest.json"))
			var m map[string]any
			if err := json.NewDecoder(rc).Decode(&m); err != nil {
				t.Fatal(err)
			}
			_ = json.NewEncoder(out).Encode(m)
			out.Close()
			js, _ := json.Marshal(m)
			mustContain(t, "manifest", string(js), `"validDomains":["snowbot.contoso.com","contoso.service-now.com"]`,
				`"botId":"5c0b1a2e-7f3d-4e8a-9b6c-1d2e3f4a5b6c"`, `"version":"2.1.0"`, `"title":"incidents"`, `"title":"signout"`,
				`"privacyUrl":"https://snowbot.contoso.com/privacy"`, `"title":"kb"`, `"title":"notifications"`,
				`"scopes":["personal","team","groupChat"]`,
				`"composeExtensions":[{"botId":"5c0b1a2e-7f3d-4e8a-9b6c-1d2e3f4a5b6c"`, `"id":"searchIncidents"`, `"id":"searchKnowledge"`,
				`"id":"searchRecords"`, `"context":["message"],"description":"Report an incident in ServiceNow from this message.","fetchTask":true,"id":"createIncidentFromMessage","title":"Create incident","type":"action"`,
				`"fetchTask":true,"id":"commentFromMessage"`,
				`"parameters":[{"description":`, `"name":"query"`,
				`"messageHandlers":[{"type":"link","value":{"domains":["contoso.service-now.com"]}}]`)
		case "color.png", "outline.png":
			img, err := png.Decode(rc)
			if err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
			want := 192
			if f.Name == "outline.png" {
				want = 32
				if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
					t.Error("outline icon background is not transparent")
				}
			}
			if img.Bounds().Dx() != want || img.Bounds().Dy() != want {
				t.Errorf("%s is %v", f.Name, img.Bounds())
			}
		}
		rc.Close()
	}
	if len(names) != 3 || !names["manifest.json"] || !names["color.png"] || !names["outline.png"] {
		t.Fatalf("package holds %v", names)
	}

	cmd := nodeTool(t, "validate-manifest.mjs", filepath.Join(dir, "manifest.json"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("official schema validation failed: %v\n%s", err, out)
	}
	var res struct {
		Newest, Version string
		Errors          []string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(res.Errors) != 0 || res.Version != res.Newest {
		t.Fatalf("manifest %s, newest schema %s, errors %v", res.Version, res.Newest, res.Errors)
	}
}

func TestManifestCommandRefusesAnInvalidPackage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := launch(t, map[string]string{
		"SNOWBOT_TEST_DIR":        dir,
		"PUBLIC_BASE_URL":         "http://localhost:3978",
		"SERVICENOW_INSTANCE_URL": "https://contoso.service-now.com",
	}, "manifest", "-o", "app.zip")
	if code, _ := p.Wait(20 * time.Second); code == 0 {
		t.Fatal("an invalid package was written")
	}
	mustContain(t, "refusal", p.Logs(), "MICROSOFT_APP_ID:", "PUBLIC_BASE_URL: must be an https URL")
	if strings.Contains(p.Logs(), "panic") {
		t.Fatal(p.Logs())
	}
	if _, err := os.Stat(filepath.Join(dir, "app.zip")); err == nil {
		t.Fatal("app.zip exists")
	}
}
