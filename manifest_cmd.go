package main

import (
	"flag"
	"fmt"
	"io"

	"snowbot/manifest"
)

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
	s := packageSettings(get)
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
