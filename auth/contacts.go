package auth

import (
	"context"
	"encoding/json"
	"errors"
)

// Contact is how snowbot reaches a person of its own accord, to tell them that
// something changed in ServiceNow: their 1:1 chat with the bot and whether
// they want to hear. It is sealed like their tokens, shared by every instance
// through the store, and forgotten when they sign out.
type Contact struct {
	// Chat is the 1:1 conversation, as the conversation package writes it.
	Chat []byte `json:"chat,omitempty"`
	// Muted: the person turned notifications off.
	Muted bool `json:"muted,omitempty"`
	// Gone: their chat no longer takes messages (the app was removed); they
	// are skipped until they write to the bot again.
	Gone bool `json:"gone,omitempty"`
	// Told: a notification has already said how to turn them off.
	Told bool `json:"told,omitempty"`
}

// The record names of contacts: one per person, and the link from a
// ServiceNow identity to the Teams person signed in as it.
const (
	recordContact = "contact"
	recordLinked  = "teams-user"
)

// identityRecords are the records of a ServiceNow identity. The subject starts
// with a byte that no Teams user key has, so the two never meet.
func (s *Service) identityRecords(sysID string) *Records {
	return s.Records("\x00servicenow-user\x00" + sysID)
}

// Contact returns the person's contact, or ErrNoRecord.
func (s *Service) Contact(ctx context.Context, user string) (Contact, error) {
	raw, err := s.Records(user).Get(ctx, recordContact)
	if err != nil {
		return Contact{}, err
	}
	var c Contact
	if json.Unmarshal(raw, &c) != nil {
		return Contact{}, ErrNoRecord
	}
	return c, nil
}

// UpdateContact changes the contact of a signed-in person with edit, and links
// their ServiceNow identity to them so that change events find them. It
// writes only what changed. A person who is not signed in has no contact:
// ErrSignInRequired.
func (s *Service) UpdateContact(ctx context.Context, user string, edit func(c *Contact)) (Contact, error) {
	t, err := s.loadTokens(ctx, user)
	if err != nil {
		return Contact{}, err
	}
	old, err := s.Contact(ctx, user)
	if err != nil && !errors.Is(err, ErrNoRecord) {
		return Contact{}, err
	}
	c := old
	c.Chat = append([]byte(nil), old.Chat...)
	edit(&c)
	if err == nil && sameContact(old, c) {
		return c, nil
	}
	raw, _ := json.Marshal(c)
	if err := s.Records(user).Put(ctx, recordContact, raw, 0); err != nil {
		return Contact{}, err
	}
	if t.Identity != nil {
		if err := s.link(ctx, t.Identity.SysID, user); err != nil {
			return c, err
		}
	}
	return c, nil
}

func sameContact(a, b Contact) bool {
	return string(a.Chat) == string(b.Chat) && a.Muted == b.Muted && a.Gone == b.Gone && a.Told == b.Told
}

// link records that the ServiceNow user sysID is the Teams person user. When
// two Teams people sign in as one ServiceNow account, the latest is told.
func (s *Service) link(ctx context.Context, sysID, user string) error {
	r := s.identityRecords(sysID)
	if cur, err := r.Get(ctx, recordLinked); err == nil && string(cur) == user {
		return nil
	}
	return r.Put(ctx, recordLinked, []byte(user), 0)
}

// ContactOf finds the Teams person signed in as the ServiceNow user sysID and
// their contact. It is ErrNoRecord when nobody is: never linked, signed out,
// or signed in since as another ServiceNow account.
func (s *Service) ContactOf(ctx context.Context, sysID string) (user string, c Contact, err error) {
	raw, err := s.identityRecords(sysID).Get(ctx, recordLinked)
	if err != nil {
		return "", Contact{}, err
	}
	user = string(raw)
	t, err := s.loadTokens(ctx, user)
	if errors.Is(err, ErrSignInRequired) {
		return "", Contact{}, ErrNoRecord
	}
	if err != nil {
		return "", Contact{}, err
	}
	if t.Identity == nil || t.Identity.SysID != sysID {
		return "", Contact{}, ErrNoRecord
	}
	c, err = s.Contact(ctx, user)
	return user, c, err
}

// forgetContact removes the person's contact and, if it still points to them,
// the link from their ServiceNow identity.
func (s *Service) forgetContact(ctx context.Context, user string, id *Identity) error {
	if id != nil {
		r := s.identityRecords(id.SysID)
		if cur, err := r.Get(ctx, recordLinked); err == nil && string(cur) == user {
			if err := r.Delete(ctx, recordLinked); err != nil {
				return err
			}
		}
	}
	return s.Records(user).Delete(ctx, recordContact)
}
