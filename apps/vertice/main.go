// Command vertice is the registry's command-line client: list and inspect
// services, register, renew and deregister instances, watch the catalog
// change, and check a replica's health. It speaks the registry's HTTP API
// through the project's one client (adapters/registryclient).
//
// Exit status: 0 on success, 1 on an error (one line on stderr), 2 on bad
// usage.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// Ctrl-C ends a watch cleanly, and any other call in flight.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: arguments, environment and output in,
// exit status out.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	// The images share one Dockerfile whose HEALTHCHECK runs the program
	// with -healthcheck; a client serves nothing, so while it runs (a
	// long watch) it is healthy.
	if len(args) == 1 && args[0] == "-healthcheck" {
		return exitOK
	}
	cli := newCLI(getenv, stdout, stderr)
	cmd := cli.root()
	cmd.SetArgs(args)
	ran, err := cmd.ExecuteContextC(ctx)
	return cli.exit(ran, err)
}
