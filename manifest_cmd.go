package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"

	"snowbot/bot"
	"snowbot/manifest"
)

// manifestSettings reads what the app package needs: the bot's identity and
// hosts from the bot's own settings, and the app's name, version and links
// from TEAMS_* settings with defaults. It needs no secret.
func manifestSettings(get lookupFunc) manifest.Settings {
	str := func(name, def string) string {
		if v, ok := get(name); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		return def
	}
	base := strings.TrimRight(str("PUBLIC_BASE_URL", ""), "/")
	s := manifest.Settings{
		AppID:         str("MICROSOFT_APP_ID", ""),
		PublicBaseURL: base,
		InstanceURL:   strings.TrimRight(str("SERVICENOW_INSTANCE_URL", ""), "/"),
		Version:       str("TEAMS_APP_VERSION", "1.0.0"),
		Name:          str("TEAMS_APP_NAME", "snowbot"),
		DeveloperName: str("TEAMS_DEVELOPER_NAME", "snowbot"),
		WebsiteURL:    str("TEAMS_DEVELOPER_URL", base),
		PrivacyURL:    str("TEAMS_PRIVACY_URL", base+"/privacy"),
		TermsURL:      str("TEAMS_TERMS_URL", base+"/terms"),
	}
	for _, c := range bot.Commands {
		s.Commands = append(s.Commands, manifest.Command{Title: c.Name, Description: c.Usage + ": " + c.Description})
	}
	return s
}

func manifestCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("snowbot manifest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "snowbot-teams-app.zip", "where to write the Teams app package")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "snowbot manifest: unexpected arguments %q\n", fs.Args())
		return 2
	}
	get, err := environment("")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	s := manifestSettings(get)
	if err := manifest.Write(*out, s); err != nil {
		fmt.Fprintln(stderr, "snowbot manifest: the Teams app package was not written:")
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "Wrote %s (Teams manifest %s, app version %s, bot %s; valid domains %s and %s).\n",
		*out, manifest.SchemaVersion, s.Version, s.AppID, hostOf(s.PublicBaseURL), hostOf(s.InstanceURL))
	fmt.Fprintln(stdout, "Upload it in the Teams admin center (Teams apps > Manage apps > Upload new app), or in Teams under Apps > Manage your apps > Upload an app.")
	return 0
}

func hostOf(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return u
	}
	return pu.Hostname()
}
