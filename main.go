// Command snowbot is a Microsoft Teams bot that lets people work with
// ServiceNow incidents from a chat, each person signed in to ServiceNow as
// themselves.
//
// Subcommands: serve (the default), demo, manifest, doctor, version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	_ "time/tzdata" // the zone database in the binary: times are shown in each person's zone, whatever the image holds
)

func main() {
	if os.Getenv("GOGC") == "" {
		// The bot keeps little in memory (a few MB), so with the default GOGC of
		// 100 the collector runs after every few MB of short-lived turn garbage
		// and takes a tenth of the CPU under load. With 800 the heap may grow to
		// tens of MB between collections; the soft limit below makes the
		// collector work harder before it grows past that. GOGC and GOMEMLIMIT
		// in the environment win.
		debug.SetGCPercent(800)
		if os.Getenv("GOMEMLIMIT") == "" {
			debug.SetMemoryLimit(512 << 20)
		}
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// subcommand is one of snowbot's commands: what it does in one line, what
// --help says of it, its flags, and how it runs once they are parsed.
type subcommand struct {
	name, summary, about string
	flags                func(fs *flag.FlagSet) // nil: none
	run                  func(ctx context.Context, fs *flag.FlagSet, stdout, stderr io.Writer) int
}

// subcommands are snowbot's commands, in the order help lists them.
var subcommands = []subcommand{
	{name: "serve", summary: "run the bot web server (the default)",
		about: "Runs the bot: POST /api/messages for Teams, /auth/callback for ServiceNow's sign-in, /api/servicenow/events\n" +
			"for change events, /healthz. Settings come from the environment and a .env file in the working directory\n" +
			"(README.md, Configuration); a missing or malformed one stops it at start, one line per problem.",
		run: func(ctx context.Context, _ *flag.FlagSet, stdout, stderr io.Writer) int {
			return serveCommand(ctx, stdout, stderr)
		}},
	{name: "demo", summary: "run the bot with a built-in demo ServiceNow instance on loopback",
		about: "Runs the bot in development mode together with a demo ServiceNow instance, both on this machine,\n" +
			"with a throw-away key and store: no accounts needed. PORT (default 3978) is the bot's port.\n" +
			"Chat with it in Microsoft 365 Agents Playground (README.md, Try it). Ctrl-C or SIGTERM stops both.",
		run: func(ctx context.Context, _ *flag.FlagSet, stdout, stderr io.Writer) int {
			return demoCommand(ctx, stdout, stderr)
		}},
	{name: "manifest", summary: "write the Teams app package (-o FILE, default snowbot-teams-app.zip)",
		about: "Writes the Teams app package (manifest.json and the two icons) for this configuration and validates it.\n" +
			"It reads MICROSOFT_APP_ID, PUBLIC_BASE_URL, SERVICENOW_INSTANCE_URL and the TEAMS_* settings; no secret.",
		flags: func(fs *flag.FlagSet) {
			fs.String("o", "snowbot-teams-app.zip", "where to write the Teams app package")
		},
		run: func(_ context.Context, fs *flag.FlagSet, stdout, stderr io.Writer) int {
			return manifestCommand(fs.Lookup("o").Value.String(), stdout, stderr)
		}},
	{name: "doctor", summary: "check the configuration end to end",
		about: "Checks every setting, the Bot Framework keys, the bot's own token, the redirect URI, ServiceNow's token\n" +
			"endpoint and client credentials, the store and the key: a line per check, with the fix for each failure.\n" +
			"Exits 0 only when every check passes.",
		run: doctorCommand},
	{name: "version", summary: "print the version and the commit it was built from",
		about: "Prints snowbot's version, the commit it was built from and the Go version.",
		run:   func(_ context.Context, _ *flag.FlagSet, stdout, _ io.Writer) int { return versionCommand(stdout) }},
}

// usage lists the commands.
func usage(w io.Writer) {
	fmt.Fprint(w, "usage: snowbot [command] [flags]\n\ncommands:\n")
	for _, c := range subcommands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "  help       show this list; snowbot <command> --help shows a command's own\n")
}

// run dispatches a subcommand and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "help", "-h", "-help", "--help":
			usage(stdout)
			return 0
		case "--version", "-version":
			return versionCommand(stdout)
		}
	}
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	for _, c := range subcommands {
		if c.name != name {
			continue
		}
		fs, code, ok := c.parse(args, stdout, stderr)
		if !ok {
			return code
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		return c.run(ctx, fs, stdout, stderr)
	}
	fmt.Fprintf(stderr, "snowbot: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}

// parse reads a command's flags: -h or --help prints its usage to stdout
// (exit 0); anything it does not take, to stderr (exit 2).
func (c subcommand) parse(args []string, stdout, stderr io.Writer) (*flag.FlagSet, int, bool) {
	fs := flag.NewFlagSet("snowbot "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if c.flags != nil {
		c.flags(fs)
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.usage(stdout, fs)
		return nil, 0, false
	case err != nil:
		fmt.Fprintf(stderr, "snowbot %s: %v\n\n", c.name, err)
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "snowbot %s: unexpected arguments %q\n\n", c.name, fs.Args())
	default:
		return fs, 0, true
	}
	c.usage(stderr, fs)
	return nil, 2, false
}

// usage is a command's --help.
func (c subcommand) usage(w io.Writer, fs *flag.FlagSet) {
	synopsis := "snowbot " + c.name
	if c.flags != nil {
		synopsis += " [flags]"
	}
	fmt.Fprintf(w, "usage: %s\n\n%s\n", synopsis, c.about)
	if c.flags != nil {
		fmt.Fprint(w, "\nflags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

// loadConfig reads the configuration and prints every problem, one per line.
func loadConfig(stderr io.Writer) (*Config, bool) {
	get, err := environment("")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, false
	}
	cfg, err := LoadConfig(get)
	if err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			fmt.Fprintf(stderr, "snowbot: the configuration has %d problem(s):\n", len(ce.Problems))
			for _, p := range ce.Problems {
				fmt.Fprintln(stderr, p)
			}
		} else {
			fmt.Fprintln(stderr, err)
		}
		return nil, false
	}
	return cfg, true
}
