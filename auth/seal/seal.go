// Package seal encrypts the secrets snowbot keeps at rest (ServiceNow tokens,
// verification codes, PKCE verifiers) with AES-256-GCM, and derives the other
// keys snowbot needs from the one TOKEN_ENCRYPTION_KEY.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// version is the first byte of every sealed record.
const version = 1

// headerLen is version, key id and nonce.
const headerLen = 1 + 4 + 12

// ErrOpen means a record cannot be opened: another key sealed it, it was
// tampered with, or it belongs to another subject.
var ErrOpen = errors.New("sealed record cannot be opened")

// Sealer seals and opens records. Every record is bound to what it is and whose
// it is (the AEAD additional data), so a record copied under another key in the
// store does not open.
type Sealer struct {
	current uint32
	aeads   map[uint32]cipher.AEAD
}

// New returns a Sealer that seals with key and also opens records sealed with
// any of previous (keys being rotated out). Keys are 32 bytes.
func New(key []byte, previous ...[]byte) (*Sealer, error) {
	s := &Sealer{aeads: map[uint32]cipher.AEAD{}}
	for i, k := range append([][]byte{key}, previous...) {
		if len(k) != 32 {
			return nil, fmt.Errorf("seal: key %d is %d bytes, want 32", i, len(k))
		}
		sub, err := Derive(k, "snowbot record sealing v1", 32)
		if err != nil {
			return nil, err
		}
		block, err := aes.NewCipher(sub)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		id := KeyID(k)
		if i == 0 {
			s.current = id
		}
		s.aeads[id] = aead
	}
	return s, nil
}

// KeyID names a key without revealing it: the first 4 bytes of a hash of it.
func KeyID(key []byte) uint32 {
	h := sha256.Sum256(append([]byte("snowbot key id\x00"), key...))
	return binary.BigEndian.Uint32(h[:4])
}

// Derive returns a subkey of key for one purpose (HKDF-SHA256).
func Derive(key []byte, purpose string, n int) ([]byte, error) {
	return hkdf.Key(sha256.New, key, nil, purpose, n)
}

// Seal encrypts plaintext as a record of this kind for this subject, with a fresh random nonce.
func (s *Sealer) Seal(kind, subject string, plaintext []byte) []byte {
	out := make([]byte, headerLen, headerLen+len(plaintext)+16)
	out[0] = version
	binary.BigEndian.PutUint32(out[1:5], s.current)
	if _, err := rand.Read(out[5:headerLen]); err != nil {
		panic("seal: no randomness: " + err.Error()) // crypto/rand does not fail on supported systems
	}
	return s.aeads[s.current].Seal(out, out[5:headerLen], plaintext, additionalData(kind, subject, out[:5]))
}

// Open decrypts a record sealed for this kind and subject.
func (s *Sealer) Open(kind, subject string, sealed []byte) ([]byte, error) {
	if len(sealed) < headerLen+16 || sealed[0] != version {
		return nil, fmt.Errorf("%w: not a sealed record", ErrOpen)
	}
	id := binary.BigEndian.Uint32(sealed[1:5])
	aead, ok := s.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w: sealed with key %08x, which is neither TOKEN_ENCRYPTION_KEY nor in TOKEN_ENCRYPTION_KEY_PREVIOUS", ErrOpen, id)
	}
	plain, err := aead.Open(nil, sealed[5:headerLen], sealed[headerLen:], additionalData(kind, subject, sealed[:5]))
	if err != nil {
		return nil, fmt.Errorf("%w: %s record of %q fails authentication", ErrOpen, kind, subject)
	}
	return plain, nil
}

// Stale reports whether a record was sealed with an older key and should be sealed again.
func (s *Sealer) Stale(sealed []byte) bool {
	return len(sealed) >= 5 && binary.BigEndian.Uint32(sealed[1:5]) != s.current
}

// additionalData binds a record to its kind, its subject and its header.
func additionalData(kind, subject string, header []byte) []byte {
	ad := make([]byte, 0, len(kind)+len(subject)+len(header)+2)
	ad = append(ad, kind...)
	ad = append(ad, 0)
	ad = append(ad, subject...)
	ad = append(ad, 0)
	return append(ad, header...)
}
