// Command stepsctl records the steps of deploys in a steps server and lists
// them back. Run "stepsctl --help" for its commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	// --tz names zones from the binary: a CI image may have no zoneinfo.
	_ "time/tzdata"

	"github.com/steps-dev/steps/cmd/stepsctl/internal/command"
)

// version is set at build time: -ldflags "-X main.version=1.2.3".
var version string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	f := command.NewFactory(version)
	code := command.Main(ctx, f, os.Args[1:])
	stop()
	f.Exit(code)
}
