package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/cashgate/cashgate/internal/app"
)

// operatorCmd makes operators of the console at /operator.
func (e *env) operatorCmd() *cobra.Command {
	root := &cobra.Command{Use: "operator", Short: "Operators of the console at /operator (whoever runs cashgate)"}
	var username string
	var fromStdin bool
	create := &cobra.Command{
		Use:   "create --username U [--password-stdin]",
		Short: "Create an operator; the password is asked for on the terminal, or read from stdin",
		Long: `Create an operator of the console at /operator and print operatorId,
username and createdAt as one JSON object. The password (8 to 256
characters) is asked for twice on the terminal without echo, or, with
--password-stdin, read from the first line of stdin (for scripts:
printf '%s\n' "$PW" | cashgate operator create --username ops --password-stdin).
Only its argon2id hash is stored.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(cmd.InOrStdin(), e.stderr, fromStdin)
			if err != nil {
				return err
			}
			return e.withApp(cmd.Context(), func(a *app.App) error {
				return e.createOperator(cmd.Context(), a, username, pw)
			})
		},
	}
	create.Flags().StringVar(&username, "username", "", "the operator's username: 1 to 64 letters, digits or . _ @ - (required)")
	create.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of stdin instead of asking on the terminal")
	_ = create.MarkFlagRequired("username")
	root.AddCommand(create)
	return root
}

func (e *env) createOperator(ctx context.Context, a *app.App, username, password string) error {
	op, err := a.Portal.Console.Create(ctx, username, password)
	if err != nil {
		return err
	}
	return e.printJSON(map[string]string{"operatorId": op.ID, "username": op.Username, "createdAt": op.CreatedAt.Format(time.RFC3339)})
}

// readPassword reads the password from stdin's first line, or asks for it
// twice on the terminal without echo.
func readPassword(stdin io.Reader, prompt io.Writer, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read the password from stdin: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errors.New("no terminal to ask for the password on: pass it on stdin with --password-stdin")
	}
	ask := func(label string) (string, error) {
		fmt.Fprint(prompt, label)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		return string(b), err
	}
	pw, err := ask("Password: ")
	if err != nil {
		return "", err
	}
	again, err := ask("Password again: ")
	if err != nil {
		return "", err
	}
	if pw != again {
		return "", errors.New("the two passwords differ")
	}
	return pw, nil
}
