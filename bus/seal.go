package bus

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Role credentials travel and rest on the bus sealed (AES-256-GCM) with a key kept
// beside the bus passwords, so that a client watching every subject, the admin
// included, never reads a secret access key or a session token. The bus creates the
// key; the services that need credentials (the session, which writes them, dockerexec
// and the reporter, which use them) read it.
//
//	sealed = "v1." + hex(nonce ‖ AES-GCM(key, JSON))

// ErrSealed classifies a sealed value that cannot be opened: another key, or not
// sealed at all.
var ErrSealed = errors.New("cannot open sealed value")

// SealKeyFile is where the bus keeps the sealing key (mode 0600).
func SealKeyFile(dataDir string) string { return filepath.Join(dataDir, "bus", "credentials.key") }

// LoadOrCreateSealKey returns the key in path, creating a random one when there is
// none. Only the bus calls it.
func LoadOrCreateSealKey(path string) error {
	if _, err := readSealKey(path); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	return os.Rename(tmp, path)
}

func readSealKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the credentials key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("the credentials key %s is not 32 bytes in hex", path)
	}
	return key, nil
}

// Keyring seals and opens with the key in a file, read again when the file changes
// (a bus started on a fresh data directory makes a new one). Safe for concurrent use.
type Keyring struct {
	path string
	mu   sync.Mutex
	aead cipher.AEAD
	mod  time.Time
}

// NewKeyring returns a keyring over the key file at path; the file is read at first
// use.
func NewKeyring(path string) *Keyring { return &Keyring{path: path} }

// NewKeyringFromKey returns a keyring over a key held in memory (tests).
func NewKeyringFromKey(key []byte) (*Keyring, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return &Keyring{aead: aead}, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (k *Keyring) current() (cipher.AEAD, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.path == "" {
		return k.aead, nil
	}
	fi, err := os.Stat(k.path)
	if err != nil {
		return nil, fmt.Errorf("reading the credentials key: %w", err)
	}
	if k.aead != nil && fi.ModTime().Equal(k.mod) {
		return k.aead, nil
	}
	key, err := readSealKey(k.path)
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	k.aead, k.mod = aead, fi.ModTime()
	return aead, nil
}

// Seal encodes v as JSON and seals it.
func (k *Keyring) Seal(v any) ([]byte, error) {
	aead, err := k.current()
	if err != nil {
		return nil, err
	}
	plain, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	sealed := aead.Seal(nonce, nonce, plain, nil)
	return []byte("v1." + hex.EncodeToString(sealed)), nil
}

// Open opens a sealed value into v; an error wraps ErrSealed when the value was not
// sealed with this key.
func (k *Keyring) Open(data []byte, v any) error {
	aead, err := k.current()
	if err != nil {
		return err
	}
	raw, ok := strings.CutPrefix(string(data), "v1.")
	if !ok {
		return fmt.Errorf("%w: not a sealed value", ErrSealed)
	}
	sealed, err := hex.DecodeString(raw)
	if err != nil || len(sealed) < aead.NonceSize() {
		return fmt.Errorf("%w: malformed", ErrSealed)
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSealed, err)
	}
	return json.Unmarshal(plain, v)
}
