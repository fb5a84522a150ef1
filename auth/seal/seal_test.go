package seal

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

func key() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

func TestSealOpen(t *testing.T) {
	s, err := New(key())
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("access-token-value")
	a := s.Seal("tokens", "tenant/ada", secret)
	b := s.Seal("tokens", "tenant/ada", secret)
	if bytes.Equal(a, b) {
		t.Error("two seals of the same record are identical: nonce reused")
	}
	if bytes.Contains(a, secret) {
		t.Error("plaintext visible in the sealed record")
	}
	got, err := s.Open("tokens", "tenant/ada", a)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
}

func TestRecordIsBoundToItsSubjectAndKind(t *testing.T) {
	s, _ := New(key())
	sealed := s.Seal("tokens", "tenant/ada", []byte("x"))
	if _, err := s.Open("tokens", "tenant/bob", sealed); !errors.Is(err, ErrOpen) {
		t.Errorf("ada's record opened as bob's: %v", err)
	}
	if _, err := s.Open("held", "tenant/ada", sealed); !errors.Is(err, ErrOpen) {
		t.Errorf("a token record opened as another kind: %v", err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	if _, err := s.Open("tokens", "tenant/ada", tampered); !errors.Is(err, ErrOpen) {
		t.Errorf("tampered record opened: %v", err)
	}
}

func TestRotation(t *testing.T) {
	oldKey, newKey := key(), key()
	old, _ := New(oldKey)
	sealed := old.Seal("tokens", "u", []byte("x"))

	rotated, _ := New(newKey, oldKey)
	if got, err := rotated.Open("tokens", "u", sealed); err != nil || string(got) != "x" {
		t.Fatalf("record of the previous key: %q, %v", got, err)
	}
	if !rotated.Stale(sealed) {
		t.Error("record of the previous key not reported stale")
	}
	if rotated.Stale(rotated.Seal("tokens", "u", []byte("x"))) {
		t.Error("fresh record reported stale")
	}
	withoutOld, _ := New(newKey)
	if _, err := withoutOld.Open("tokens", "u", sealed); !errors.Is(err, ErrOpen) {
		t.Errorf("record of an unknown key opened: %v", err)
	}
}

func TestKeysMustBe32Bytes(t *testing.T) {
	if _, err := New(make([]byte, 16)); err == nil {
		t.Error("16-byte key accepted")
	}
}
