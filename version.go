package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Set at build time by the image build:
//
//	go build -ldflags "-X main.version=1.4.0 -X main.commit=<git sha>"
//
// A build from a git checkout without them takes the commit from Go's own
// build information.
var (
	version = "dev"
	commit  = ""
)

// buildCommit is the commit the binary was built from, or "unknown".
func buildCommit() string {
	if commit != "" {
		return commit
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}

func versionCommand(stdout io.Writer) int {
	fmt.Fprintf(stdout, "snowbot %s (commit %s, %s)\n", version, buildCommit(), runtime.Version())
	return 0
}
