package config

import (
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// Flags are the command-line flags every agent binary accepts.
type Flags struct {
	Version bool   // -version: print the version and exit
	BusURL  string // -bus: URL of a running bus (overrides ECS_BUS_URL)
	// Healthcheck (-healthcheck): ask the running process of this binary whether it
	// answers, print the answer and exit 0 if it does, 1 if not.
	Healthcheck bool
}

// Parse loads the configuration (file < environment) and applies the flags of the
// real agent: -k, -loglevel, -version, plus -bus for a service run alone. Output of
// -h goes to out.
func Parse(name string, args []string, out io.Writer) (Config, Flags, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	var f Flags
	k := fs.Bool("k", false, "do not verify TLS certificates of the ECS endpoints")
	level := fs.String("loglevel", "", "log level on stdout: crit, error, warn, info, debug (ECS_LOGLEVEL, when set, wins)")
	fs.BoolVar(&f.Version, "version", false, "print the agent version and exit")
	fs.BoolVar(&f.Healthcheck, "healthcheck", false, "exit 0 when the running process of this binary answers, 1 when not (for container health checks)")
	fs.StringVar(&f.BusURL, "bus", "", "URL of the bus, e.g. nats://127.0.0.1:4222 (overrides ECS_BUS_URL)")
	if err := fs.Parse(args); err != nil {
		return Config{}, f, err
	}
	if f.Version {
		return Config{}, f, nil
	}
	c, err := Load()
	if err != nil {
		return Config{}, f, err
	}
	c.SkipTLSVerify = *k
	// As the real agent: ECS_LOGLEVEL, when set, overrides -loglevel.
	flagLevel := *level != "" && !c.logLevelSet
	if flagLevel {
		c.LogLevel = strings.ToLower(*level)
	}
	if f.BusURL != "" {
		c.BusURL = f.BusURL
	}
	if err := c.Validate(); err != nil {
		if flagLevel {
			return Config{}, f, fmt.Errorf("-loglevel=%q: want crit, error, warn, info or debug", *level)
		}
		return Config{}, f, err
	}
	return c, f, nil
}

// VersionString is what -version prints and introspection reports.
func VersionString() string {
	return "Amazon ECS Agent - v" + Version + " (" + GitHash() + ")"
}

// gitHash is set at build time (make: -X …/bus/config.gitHash=<short commit>).
var gitHash string

// GitHash is the short commit the binary was built from, as the real agent sends it
// in agentHash and its version string: the build's -X value, else the commit Go
// recorded from the checkout, else "unknown".
func GitHash() string {
	if gitHash != "" {
		return gitHash
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 8 {
				return s.Value[:8]
			}
		}
	}
	return "unknown"
}
