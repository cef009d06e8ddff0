package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vertice/vertice/adapters/registryclient"
	"github.com/vertice/vertice/internal/envconf"
	"github.com/vertice/vertice/internal/serve/version"
)

// DefaultRegistryURL is where the client looks when neither REGISTRY_URL
// nor --registry says: a registry run by `go tool mage run`.
const DefaultRegistryURL = "http://localhost:8888"

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// cli holds what every command shares: the settings read from flags and
// the environment, the output, and whether a command started running (an
// error before that is bad usage).
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string

	registry, token, caFile, serverName, output string
	timeout                                     time.Duration
	envErr                                      error

	started bool
	client  *registryclient.Client
}

func newCLI(getenv func(string) string, stdout, stderr io.Writer) *cli {
	return &cli{stdout: stdout, stderr: stderr, getenv: getenv}
}

// usageError is a mistake in how the command was called: exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

func (c *cli) root() *cobra.Command {
	env := envconf.New(func(name string) (string, bool) {
		v := c.getenv(name)
		return v, v != ""
	})
	root := &cobra.Command{
		Use:   "vertice",
		Short: "Command-line client of the Vértice service registry",
		Long: `vertice talks to a Vértice registry over its HTTP API: list and inspect services,
register, renew and deregister instances, watch the catalog change, check a replica.

The registry is REGISTRY_URL (default ` + DefaultRegistryURL + `) or --registry; writes send
REGISTRY_TOKEN (or --token) as a bearer token when the registry requires one.

Exit status: 0 on success, 1 on an error (one line on stderr), 2 on bad usage.`,
		Example: `  vertice services
  vertice get demo_service -o json
  vertice register my_service http://10.0.0.5:8080 --id my-1 --meta version=1.2.0
  vertice watch`,
		Version:           version.String(),
		SilenceErrors:     true,
		SilenceUsage:      true,
		PersistentPreRunE: c.setup,
	}
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	f := root.PersistentFlags()
	f.StringVarP(&c.registry, "registry", "r", env.String("REGISTRY_URL", DefaultRegistryURL),
		"registry base URL (env REGISTRY_URL)")
	// The token's default is read in setup: a default would show in --help.
	f.StringVar(&c.token, "token", "", "bearer token sent to the registry (env REGISTRY_TOKEN)")
	f.StringVar(&c.caFile, "ca-file", env.String("REGISTRY_CA_FILE", ""),
		"PEM file of the CAs to trust for an https registry (env REGISTRY_CA_FILE)")
	f.StringVar(&c.serverName, "tls-server-name", env.String("REGISTRY_TLS_SERVER_NAME", ""),
		"name the registry's certificate must carry, when not the URL's host (env REGISTRY_TLS_SERVER_NAME)")
	f.DurationVar(&c.timeout, "timeout", env.Duration("REGISTRY_TIMEOUT", registryclient.DefaultTimeout),
		"bound on each call to the registry (env REGISTRY_TIMEOUT)")
	f.StringVarP(&c.output, "output", "o", "table", "output format: table (for people) or json (for scripts)")
	c.envErr = env.Err()
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))

	root.AddCommand(c.servicesCmd(), c.getCmd(), c.registerCmd(), c.heartbeatCmd(), c.deregisterCmd(),
		c.watchCmd(), c.healthCmd(), c.versionCmd())
	return root
}

// setup checks the shared settings and makes the client, before any
// command runs.
func (c *cli) setup(cmd *cobra.Command, _ []string) error {
	if c.envErr != nil {
		return usageError{c.envErr}
	}
	if !cmd.Flags().Changed("token") {
		c.token = c.getenv("REGISTRY_TOKEN")
	}
	if c.output != "table" && c.output != "json" {
		return usagef("--output %q: must be table or json", c.output)
	}
	if c.timeout <= 0 {
		return usagef("--timeout %s: must be positive", c.timeout)
	}
	o := registryclient.Options{Token: c.token, Timeout: c.timeout, UserAgent: "vertice/" + version.String()}
	if c.caFile != "" || c.serverName != "" {
		conf, err := registryclient.TLSConfig(c.caFile, c.serverName)
		if err != nil {
			return usagef("--ca-file: %v", err)
		}
		o.TLS = conf
	}
	client, err := registryclient.New(c.registry, o)
	if err != nil {
		return usagef("--registry: %v", err)
	}
	c.client = client
	return nil
}

// runs marks where a command's own work starts: an error after it is an
// error (exit 1), not bad usage, unless it says so.
func (c *cli) runs(fn func(ctx context.Context, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c.started = true
		return fn(cmd.Context(), args)
	}
}

// args checks the number of positional arguments as bad usage.
func args(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		switch {
		case len(a) < lo:
			return usagef("%s needs %s", cmd.CommandPath(), cmd.Use[strings.Index(cmd.Use, " ")+1:])
		case len(a) > hi:
			return usagef("%s takes at most %d argument(s), got %d: %s", cmd.CommandPath(), hi, len(a), strings.Join(a, " "))
		}
		return nil
	}
}

// exit prints err as one line and says the exit status.
func (c *cli) exit(cmd *cobra.Command, err error) int {
	if err == nil {
		return exitOK
	}
	var usage usageError
	if errors.As(err, &usage) || !c.started {
		help := "vertice --help"
		if cmd != nil {
			help = cmd.CommandPath() + " --help"
		}
		fmt.Fprintf(c.stderr, "vertice: %s (see %s)\n", oneLine(err.Error()), help)
		return exitUsage
	}
	fmt.Fprintf(c.stderr, "vertice: %s\n", oneLine(c.explain(err)))
	return exitError
}

// explain turns a registry client's error into what to do about it.
func (c *cli) explain(err error) string {
	var e *registryclient.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	if e.Status == 0 {
		return fmt.Sprintf("cannot reach the registry at %s: %v (set REGISTRY_URL or --registry)", c.registry, e.Err)
	}
	msg := fmt.Sprintf("the registry answered %d", e.Status)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Status == 401 || e.Status == 403 {
		msg += " (set REGISTRY_TOKEN or --token)"
	}
	return msg
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
