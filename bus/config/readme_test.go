package config

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// sdkVariables are read by the AWS SDK itself, not by this package; the README
// documents them beside the agent's own.
var sdkVariables = map[string]bool{
	"AWS_PROFILE": true, "AWS_SHARED_CREDENTIALS_FILE": true, "AWS_CONFIG_FILE": true,
	"AWS_EC2_METADATA_SERVICE_ENDPOINT": true, "AWS_CA_BUNDLE": true,
	"AWS_ENDPOINT_URL": true, "AWS_ENDPOINT_URL_SSM": true, "AWS_ENDPOINT_URL_SECRETS_MANAGER": true,
}

var varName = regexp.MustCompile(`^(?:ECS|AWS|DOCKER|NON_ECS|NONECS)_[A-Z0-9_]*$`)

// TestReadmeListsEveryVariable keeps the README's configuration table and the code
// in step: every variable this package reads has a row, and every row names a
// variable that is read (here or by the SDK).
func TestReadmeListsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Skipf("no README beside the module: %v", err)
	}
	documented := map[string]bool{}
	cell := regexp.MustCompile("`([A-Z][A-Z0-9_]*)(<[A-Z]+>)?`")
	inTable := false
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "| variable | default | meaning |") {
			inTable = true
			continue
		}
		if inTable && !strings.HasPrefix(line, "|") {
			break
		}
		if !inTable || strings.HasPrefix(line, "|---") {
			continue
		}
		first := strings.Split(line, "|")[1]
		for _, m := range cell.FindAllStringSubmatch(first, -1) {
			documented[m[1]] = true
		}
	}
	if len(documented) == 0 {
		t.Fatal("no configuration table in the README")
	}

	read := map[string]bool{}
	lit := regexp.MustCompile(`"([A-Z][A-Z0-9_]+)"`)
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range lit.FindAllStringSubmatch(string(src), -1) {
			if varName.MatchString(m[1]) {
				read[m[1]] = true
			}
		}
	}
	var missing, stale []string
	for v := range read {
		if !documented[v] {
			missing = append(missing, v)
		}
	}
	for v := range documented {
		if !read[v] && !sdkVariables[v] {
			stale = append(stale, v)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("read by the code but not in the README's table: %v", missing)
	}
	if len(stale) > 0 {
		t.Errorf("in the README's table but read by nothing: %v", stale)
	}
}
