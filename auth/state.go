package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
)

// What can be wrong with the state a callback carries.
var (
	ErrStateInvalid = errors.New("sign-in state is not one snowbot issued")
	ErrStateExpired = errors.New("sign-in state has expired")
	ErrStateUsed    = errors.New("sign-in state was already used or is unknown")
)

// newState returns an opaque state: a random id and its expiry, signed. The
// pending sign-in it refers to is kept server-side under pendingKey(id).
func (s *Service) newState() (state, id string) {
	raw := make([]byte, 16+8)
	_, _ = rand.Read(raw[:16])
	binary.BigEndian.PutUint64(raw[16:], uint64(s.now().Add(s.cfg.StateTTL).Unix()))
	mac := hmac.New(sha256.New, s.stateKey)
	mac.Write(raw)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(raw) + "." + enc.EncodeToString(mac.Sum(nil)), hex.EncodeToString(raw[:16])
}

// checkState verifies signature and expiry and returns the id.
func (s *Service) checkState(state string) (string, error) {
	body, sig, ok := strings.Cut(state, ".")
	enc := base64.RawURLEncoding
	raw, err1 := enc.DecodeString(body)
	got, err2 := enc.DecodeString(sig)
	if !ok || err1 != nil || err2 != nil || len(raw) != 24 {
		return "", ErrStateInvalid
	}
	mac := hmac.New(sha256.New, s.stateKey)
	mac.Write(raw)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return "", ErrStateInvalid
	}
	if s.now().Unix() > int64(binary.BigEndian.Uint64(raw[16:])) {
		return "", ErrStateExpired
	}
	return hex.EncodeToString(raw[:16]), nil
}

// pendingKey is where a pending sign-in is stored: a hash, so the store never
// holds a usable state.
func pendingKey(id string) string {
	h := sha256.Sum256([]byte("pending\x00" + id))
	return hex.EncodeToString(h[:])
}
