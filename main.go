// Command snowbot is a Microsoft Teams bot that lets people work with
// ServiceNow incidents from a chat, each person signed in to ServiceNow as
// themselves.
//
// Subcommands: serve (the default), demo, manifest, doctor, version.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
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

const usage = `usage: snowbot [command]

commands:
  serve      run the bot web server (the default)
  demo       run the bot with a built-in demo ServiceNow instance on loopback
  manifest   write the Teams app package (-o FILE, default snowbot-teams-app.zip)
  doctor     check the configuration end to end
  version    print the version and the commit it was built from
`

// run dispatches a subcommand and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	switch cmd {
	case "serve":
		return serveCommand(ctx, args, stdout, stderr)
	case "manifest":
		return manifestCommand(args, stdout, stderr)
	case "doctor":
		return doctorCommand(ctx, args, stdout, stderr)
	case "demo":
		return demoCommand(ctx, args, stdout, stderr)
	case "version", "--version":
		return versionCommand(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "snowbot: unknown command %q\n\n%s", cmd, usage)
		return 2
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
