package reporter

import (
	"os"
	"testing"
)

// TestMain keeps the tests off the machine's instance metadata service.
func TestMain(m *testing.M) {
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Exit(m.Run())
}
