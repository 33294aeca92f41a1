package process

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus/config"
)

var errFatal = errors.New("cluster gone")

func TestExitStatuses(t *testing.T) {
	t.Setenv("ECS_CONFIG_FILE", "/dev/null")
	for _, tc := range []struct {
		name   string
		args   []string
		env    map[string]string
		runErr error
		want   int
		stdout string
		stderr string
	}{
		{name: "version", args: []string{"-version"}, want: 0, stdout: config.VersionString()},
		{name: "help", args: []string{"-h"}, want: 0, stderr: "-loglevel"},
		{name: "bad flag", args: []string{"-nope"}, want: ExitRetry, stderr: "-nope"},
		{name: "bad variable", env: map[string]string{"ECS_RESERVED_PORTS": "x"}, want: ExitRetry, stderr: "ECS_RESERVED_PORTS"},
		{name: "clean stop", want: 0},
		{name: "failure", runErr: errors.New("boom"), want: ExitRetry, stderr: "boom"},
		{name: "terminal", runErr: errFatal, want: ExitTerminal, stderr: "cluster gone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			ran := false
			p := Program{
				Name: "ecs-test",
				Run: func(ctx context.Context, cfg config.Config, log zerolog.Logger) error {
					ran = true
					return tc.runErr
				},
				Terminal: func(err error) bool { return errors.Is(err, errFatal) },
			}
			var out, errOut bytes.Buffer
			got := p.Exec(context.Background(), append(tc.args, "-loglevel", "crit"), &out, &errOut)
			if got != tc.want {
				t.Errorf("exit %d, want %d (stderr %q)", got, tc.want, errOut.String())
			}
			if !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errOut.String(), tc.stderr) {
				t.Errorf("stdout %q stderr %q, want %q / %q", out.String(), errOut.String(), tc.stdout, tc.stderr)
			}
			if ran != (tc.want != 0 && tc.runErr != nil || tc.name == "clean stop") {
				t.Errorf("Run called = %v", ran)
			}
		})
	}
}
