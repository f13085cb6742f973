// Command cashgate is the self-hosted payment platform: one binary that
// serves every API, runs the background workers and administers tenants and
// keys. Run `cashgate --help`.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	// The IANA time zone database inside the binary: tenants' and admin
	// users' zones (settlement at midnight, the portal's list) work on a
	// machine without /usr/share/zoneinfo.
	_ "time/tzdata"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "cashgate:", err)
		os.Exit(1)
	}
}

// run is the whole program, with its world passed in so tests can drive it
// (stdin is the process's; runWithInput passes another).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runWithInput(ctx, args, getenv, os.Stdin, stdout, stderr)
}

// runWithInput is run reading stdin (`operator create --password-stdin`).
func runWithInput(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	root, err := newRootCmd(getenv, stdout, stderr)
	if err != nil {
		return err
	}
	root.SetIn(stdin)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}
