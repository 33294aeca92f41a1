package session

import (
	"os"
	"testing"
)

// TestMain keeps the tests off the machine's instance metadata service: only the
// tests that start a fake one (on 127.0.0.1) turn it back on.
func TestMain(m *testing.M) {
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Exit(m.Run())
}
