package root

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/tracesim/tracesim/internal/cmdutil"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	io := &cmdutil.IO{In: strings.NewReader(""), Out: &out, ErrOut: &out}
	cmd := New(io, "v1.2.3")
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestRoot(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--version"}, "tracesim version v1.2.3"},
		{[]string{"help"}, "inspect"},
		{[]string{"help", "inspect"}, "--format"},
		{[]string{"completion", "bash"}, "__start_tracesim"},
		{[]string{"completion", "zsh"}, "#compdef tracesim"},
	}
	for _, c := range cases {
		out, err := run(t, c.args...)
		if err != nil || !strings.Contains(out, c.want) {
			t.Errorf("tracesim %v: err %v, output lacks %q:\n%.400s", c.args, err, c.want, out)
		}
	}
}

func TestRootErrors(t *testing.T) {
	if _, err := run(t, "inspect"); err == nil || !strings.Contains(err.Error(), "requires at least 1 arg") {
		t.Errorf("inspect without files: %v", err)
	}
	if _, err := run(t, "inspekt"); err == nil || !strings.Contains(err.Error(), "inspect") {
		t.Errorf("misspelt command: %v, want a suggestion of inspect", err)
	}
}
