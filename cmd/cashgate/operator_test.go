package main

import (
	"context"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestOperatorCreate: `operator create` reads the password from stdin with
// --password-stdin, prints the operator, refuses a second one of the same
// name, a bad username, a short password, and asks for --password-stdin
// when stdin is no terminal.
func TestOperatorCreate(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := map[string]string{"CASHGATE_DATABASE_URL": e.URL(t), "CASHGATE_DATA_DIR": t.TempDir(), "CASHGATE_LOG_LEVEL": "warn"}
			create := func(stdin string, args ...string) (string, error) {
				var out, errb syncBuffer
				err := runWithInput(context.Background(), append([]string{"operator", "create"}, args...), envFrom(env), strings.NewReader(stdin), &out, &errb)
				return out.String(), err
			}
			out, err := create("operator password\n", "--username", "ops", "--password-stdin")
			if err != nil {
				t.Fatal(err)
			}
			m := decodeLine(t, out)
			if m["username"] != "ops" || !strings.HasPrefix(m["operatorId"].(string), "opr_") || strings.Contains(out, "password") {
				t.Fatalf("output %s", out)
			}
			for _, c := range []struct {
				stdin string
				args  []string
				want  string
			}{
				{"another password\n", []string{"--username", "ops", "--password-stdin"}, "exists already"},
				{"operator password\n", []string{"--username", "two words", "--password-stdin"}, "username must be"},
				{"short\n", []string{"--username", "ops2", "--password-stdin"}, "8 to 256"},
				{"operator password\n", []string{"--username", "ops3"}, "--password-stdin"},
			} {
				if _, err := create(c.stdin, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("%v: %v, want an error saying %q", c.args, err, c.want)
				}
			}
		})
	}
}
