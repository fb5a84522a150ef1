package manifest

import (
	"encoding/json"
	"strings"
	"testing"
)

func valid() Settings {
	return Settings{
		AppID: "5c0b1a2e-7f3d-4e8a-9b6c-1d2e3f4a5b6c", PublicBaseURL: "https://snowbot.example.com",
		InstanceURL: "https://dev1.service-now.com", Version: "1.2.3", Name: "snowbot", DeveloperName: "Contoso IT",
		WebsiteURL: "https://snowbot.example.com", PrivacyURL: "https://snowbot.example.com/privacy", TermsURL: "https://snowbot.example.com/terms",
		Commands: []Command{{"help", "help: Show what I can do."}},
	}
}

func TestPackageIsValid(t *testing.T) {
	pkg, err := Package(valid())
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(pkg); err != nil {
		t.Fatal(err)
	}
	js, _ := JSON(valid())
	var m map[string]any
	_ = json.Unmarshal(js, &m)
	domains, _ := json.Marshal(m["validDomains"])
	if string(domains) != `["snowbot.example.com","dev1.service-now.com"]` {
		t.Errorf("validDomains %s", domains)
	}
	if m["manifestVersion"] != SchemaVersion || m["id"] != valid().AppID {
		t.Errorf("manifest %v", m)
	}
}

func TestRefusesValuesThatMakeAnInvalidPackage(t *testing.T) {
	cases := map[string]func(s *Settings){
		"MICROSOFT_APP_ID":        func(s *Settings) { s.AppID = "" },
		"PUBLIC_BASE_URL":         func(s *Settings) { s.PublicBaseURL = "http://localhost:3978" },
		"SERVICENOW_INSTANCE_URL": func(s *Settings) { s.InstanceURL = "dev1.service-now.com" },
		"TEAMS_APP_VERSION":       func(s *Settings) { s.Version = "1.0" },
		"TEAMS_APP_NAME":          func(s *Settings) { s.Name = strings.Repeat("x", 31) },
		"TEAMS_PRIVACY_URL":       func(s *Settings) { s.PrivacyURL = "privacy.html" },
	}
	for setting, edit := range cases {
		s := valid()
		edit(&s)
		_, err := Package(s)
		ps, ok := err.(ProblemsError)
		if !ok || len(ps) != 1 || ps[0].Setting != setting {
			t.Errorf("%s: got %v", setting, err)
		}
	}
}

func TestIcons(t *testing.T) {
	if b := ColorIcon().Bounds(); b.Dx() != 192 || b.Dy() != 192 {
		t.Errorf("color icon %v", b)
	}
	if err := whiteOnTransparent(OutlineIcon()); err != nil {
		t.Error(err)
	}
	if err := whiteOnTransparent(ColorIcon()); err == nil {
		t.Error("the colour icon passes as an outline icon")
	}
	c := ColorIcon()
	if px := c.NRGBAAt(96, 40); px.A != 255 {
		t.Errorf("colour icon is not opaque inside: %v", px)
	}
}
