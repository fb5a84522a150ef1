// Package manifest builds the Teams app package that installs snowbot in
// Teams: manifest.json (on the newest manifest schema the official schema
// package bundles), a colour and an outline icon, zipped at the root. It
// refuses values that would make Teams reject the package or leave the sign-in
// button dead.
package manifest

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// SchemaVersion is the Teams manifest schema version written.
const SchemaVersion = "1.30"

// SchemaURL is that schema's address.
const SchemaURL = "https://developer.microsoft.com/en-us/json-schemas/teams/v" + SchemaVersion + "/MicrosoftTeams.schema.json"

// Command is one entry of the bot's command menu.
type Command struct {
	Title       string
	Description string
}

// Search is one search command of the message extension, with its one parameter.
type Search struct {
	ID          string
	Title       string
	Description string
	Parameter   string // the parameter's name
	ParamTitle  string
	ParamHint   string
}

// Action is one action command of the message extension on messages: Teams
// asks the bot for its form (fetchTask).
type Action struct {
	ID          string
	Title       string
	Description string
}

// Settings fill the manifest.
type Settings struct {
	AppID         string // MICROSOFT_APP_ID: the bot, and the app's id
	PublicBaseURL string // where the bot runs
	InstanceURL   string // the ServiceNow instance (its host must be a valid domain for sign-in)
	Version       string // the app's version, x.y.z
	Name          string // short name, at most 30 characters
	DeveloperName string
	WebsiteURL    string
	PrivacyURL    string
	TermsURL      string
	Commands      []Command
	Searches      []Search // the message extension's search commands
	Actions       []Action // its actions on messages
}

// Problem is one value that would make an invalid package, naming what to change.
type Problem struct {
	Setting string
	Message string
}

func (p Problem) String() string { return p.Setting + ": " + p.Message }

// ProblemsError lists every problem found.
type ProblemsError []Problem

func (e ProblemsError) Error() string {
	lines := make([]string, len(e))
	for i, p := range e {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

var (
	guid   = regexp.MustCompile(`^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$`)
	semver = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)
)

// check returns the problems of these settings.
func (s Settings) check() []Problem {
	var ps []Problem
	add := func(setting, msg string) { ps = append(ps, Problem{setting, msg}) }
	if !guid.MatchString(s.AppID) {
		add("MICROSOFT_APP_ID", "a Teams app package needs the bot's Entra app (client) ID, a GUID; it is empty or malformed")
	}
	baseOK := true
	for _, u := range []struct{ setting, value string }{
		{"PUBLIC_BASE_URL", s.PublicBaseURL}, {"SERVICENOW_INSTANCE_URL", s.InstanceURL},
	} {
		if pu, err := url.Parse(u.value); err != nil || pu.Scheme != "https" || pu.Hostname() == "" {
			add(u.setting, fmt.Sprintf("must be an https URL for Teams, got %q", u.value))
			baseOK = baseOK && u.setting != "PUBLIC_BASE_URL"
		}
	}
	for _, u := range []struct{ setting, value string }{
		{"TEAMS_DEVELOPER_URL", s.WebsiteURL}, {"TEAMS_PRIVACY_URL", s.PrivacyURL}, {"TEAMS_TERMS_URL", s.TermsURL},
	} {
		if !baseOK && strings.HasPrefix(u.value, s.PublicBaseURL) {
			continue // derived from PUBLIC_BASE_URL, whose problem is already named
		}
		if pu, err := url.Parse(u.value); err != nil || pu.Scheme != "https" || pu.Host == "" || len(u.value) > 2048 {
			add(u.setting, fmt.Sprintf("must be an https URL, got %q", u.value))
		}
	}
	if !semver.MatchString(s.Version) {
		add("TEAMS_APP_VERSION", fmt.Sprintf("must be a version like 1.0.0 (three numbers), got %q", s.Version))
	}
	if n := len([]rune(s.Name)); n == 0 || n > 30 {
		add("TEAMS_APP_NAME", fmt.Sprintf("must be 1 to 30 characters, got %d", n))
	}
	if n := len([]rune(s.DeveloperName)); n == 0 || n > 32 {
		add("TEAMS_DEVELOPER_NAME", fmt.Sprintf("must be 1 to 32 characters, got %d", n))
	}
	if len(s.Commands) == 0 || len(s.Commands) > 12 {
		add("commands", fmt.Sprintf("the command menu holds 1 to 12 commands, got %d", len(s.Commands)))
	}
	if len(s.Searches) > 10 {
		add("searches", fmt.Sprintf("a message extension holds at most 10 commands, got %d", len(s.Searches)))
	}
	for _, c := range s.Searches {
		if len(c.Title) > 32 || len(c.ParamTitle) > 32 || len(c.Description) > 128 || len(c.ParamHint) > 128 {
			add("searches", fmt.Sprintf("the search %s has a title over 32 or a description over 128 characters", c.ID))
		}
	}
	return ps
}

func host(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return pu.Hostname()
}

// JSON returns the manifest, or every problem of the settings.
func JSON(s Settings) ([]byte, error) {
	if ps := s.check(); len(ps) > 0 {
		return nil, ProblemsError(ps)
	}
	commands := make([]map[string]string, 0, len(s.Commands))
	for _, c := range s.Commands {
		commands = append(commands, map[string]string{"title": c.Title, "description": c.Description})
	}
	// The bot's host and the ServiceNow host must both be valid domains: the
	// sign-in pop-up opens the instance and comes back to the bot.
	domains := []string{host(s.PublicBaseURL)}
	if h := host(s.InstanceURL); h != domains[0] {
		domains = append(domains, h)
	}
	scopes := []string{"personal", "team", "groupChat"}
	m := map[string]any{
		"$schema":         SchemaURL,
		"manifestVersion": SchemaVersion,
		"version":         s.Version,
		"id":              s.AppID,
		"developer": map[string]string{
			"name":          s.DeveloperName,
			"websiteUrl":    s.WebsiteURL,
			"privacyUrl":    s.PrivacyURL,
			"termsOfUseUrl": s.TermsURL,
		},
		"name": map[string]string{"short": s.Name, "full": s.Name + " for ServiceNow"},
		"description": map[string]string{
			"short": "Your ServiceNow incidents and approvals in Teams, as yourself.",
			"full": "List, open, create, comment on and resolve your ServiceNow incidents from a chat, approve and reject what waits for you, " +
				"hear when your incidents change, open any record by its number or link, find and share records and knowledge articles in any conversation, " +
				"and turn a message into an incident or add it to a record. " +
				"You sign in to ServiceNow once and act as yourself, so ServiceNow's rights and audit trail apply unchanged. " +
				"Your ServiceNow tokens are stored encrypted and can be revoked at any time with the signout command.",
		},
		"icons":       map[string]string{"color": "color.png", "outline": "outline.png"},
		"accentColor": AccentColor,
		"bots": []map[string]any{{
			"botId":              s.AppID,
			"scopes":             scopes,
			"supportsFiles":      false,
			"isNotificationOnly": false,
			"commandLists":       []map[string]any{{"scopes": scopes, "commands": commands}},
		}},
		"validDomains":        domains,
		"defaultInstallScope": "personal",
	}
	if len(s.Searches)+len(s.Actions) > 0 {
		searches := make([]map[string]any, 0, len(s.Searches)+len(s.Actions))
		for _, c := range s.Searches {
			searches = append(searches, map[string]any{
				"id": c.ID, "type": "query", "title": c.Title, "description": c.Description,
				"context":    []string{"compose", "commandBox"},
				"parameters": []map[string]string{{"name": c.Parameter, "title": c.ParamTitle, "description": c.ParamHint, "inputType": "text"}},
			})
		}
		for _, a := range s.Actions {
			searches = append(searches, map[string]any{
				"id": a.ID, "type": "action", "title": a.Title, "description": a.Description,
				"context": []string{"message"}, "fetchTask": true,
			})
		}
		extension := map[string]any{"botId": s.AppID, "commands": searches}
		if h := host(s.InstanceURL); h != "" {
			// Links to the instance unfold into cards (link unfurling).
			extension["messageHandlers"] = []map[string]any{{"type": "link", "value": map[string]any{"domains": []string{h}}}}
		}
		m["composeExtensions"] = []map[string]any{extension}
	}
	return json.MarshalIndent(m, "", "  ")
}

// Package returns the app package: manifest.json, color.png and outline.png at the zip root.
func Package(s Settings) ([]byte, error) {
	manifest, err := JSON(s)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"manifest.json", manifest},
		{"color.png", encodePNG(ColorIcon())},
		{"outline.png", encodePNG(OutlineIcon())},
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if err := Check(buf.Bytes()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Write builds the package and writes it to path.
func Write(path string, s Settings) error {
	pkg, err := Package(s)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pkg, 0o644)
}
