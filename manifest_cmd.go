package main

import (
	"fmt"
	"io"

	"snowbot/manifest"
)

// manifestCommand writes the Teams app package to out.
func manifestCommand(out string, stdout, stderr io.Writer) int {
	get, err := environment("")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	s := packageSettings(get)
	if isPlaceholder(s.InstanceURL) {
		fmt.Fprintln(stderr, "snowbot manifest: the Teams app package was not written:")
		fmt.Fprintf(stderr, "SERVICENOW_INSTANCE_URL: is still the sample placeholder %q of .env.example; set your instance's address: the package lets Teams open sign-ins and unfold links only for that host\n", s.InstanceURL)
		return 1
	}
	if err := manifest.Write(out, s); err != nil {
		fmt.Fprintln(stderr, "snowbot manifest: the Teams app package was not written:")
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "Wrote %s (Teams manifest %s, app version %s, bot %s; valid domains %s and %s).\n",
		out, manifest.SchemaVersion, s.Version, s.AppID, hostOf(s.PublicBaseURL), hostOf(s.InstanceURL))
	fmt.Fprintln(stdout, "Upload it in the Teams admin center (Teams apps > Manage apps > Upload new app), or in Teams under Apps > Manage your apps > Upload an app.")
	return 0
}
