package bus

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CredentialsDir is where the bus keeps one password file per user, inside the data
// directory, so that each process sharing $ECS_DATADIR can read its own.
func CredentialsDir(dataDir string) string {
	return filepath.Join(dataDir, "bus", "users")
}

// CredentialFile is the password file of user u.
func CredentialFile(dataDir string, u User) string {
	return filepath.Join(CredentialsDir(dataDir), string(u))
}

// LoadOrCreateCredentials returns the password of every user: the one given (from the
// environment, ECS_BUS_PASSWORD_<USER>), else the one in its file, else a new random
// one written to its file with mode 0600; and makes the credentials key
// (SealKeyFile) if there is none. Only the bus calls it.
func LoadOrCreateCredentials(dataDir string, given map[User]string) (map[User]string, error) {
	out := make(map[User]string, len(Users()))
	for _, u := range Users() {
		if pw := given[u]; pw != "" {
			out[u] = pw
			continue
		}
		pw, err := loadOrCreate(CredentialFile(dataDir, u))
		if err != nil {
			return nil, fmt.Errorf("bus password of user %s: %w", u, err)
		}
		out[u] = pw
	}
	// The key role credentials are sealed with lives beside the passwords.
	if err := LoadOrCreateSealKey(SealKeyFile(dataDir)); err != nil {
		return nil, fmt.Errorf("the credentials key: %w", err)
	}
	return out, nil
}

func loadOrCreate(path string) (string, error) {
	if p, err := ReadPassword(path); err == nil && p != "" {
		return p, nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	p := hex.EncodeToString(buf)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	// Written aside and renamed, so that a reader never sees half a password.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(p+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return p, nil
}

// ReadPassword reads the password stored in path.
func ReadPassword(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading bus password %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}
