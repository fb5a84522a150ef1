package chat

// This file keeps how snowbot reaches a person of its own accord: their 1:1
// chat with the bot, whether they want to hear, and the link from their
// ServiceNow identity (which change events name) to them. All of it is kept in
// sealed per-person records, shared by every instance, forgotten at sign-out.

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"snowbot/auth"
	"snowbot/bot"
)

// Contact is how snowbot reaches a person to tell them that something changed
// in ServiceNow.
type Contact struct {
	// Chat is the 1:1 conversation, as schema.ConversationReference JSON.
	Chat json.RawMessage `json:"chat,omitempty"`
	// Muted: the person turned notifications off.
	Muted bool `json:"muted,omitempty"`
	// Gone: their chat no longer takes messages (the app was removed); they
	// are skipped until they write to the bot again.
	Gone bool `json:"gone,omitempty"`
	// Told: a notification has already said how to turn them off.
	Told bool `json:"told,omitempty"`
	// Zone and Locale are the person's time zone and locale, as Teams last
	// sent them, for the times in the text of what they are sent.
	Zone   string `json:"zone,omitempty"`
	Locale string `json:"locale,omitempty"`
}

// The record names of contacts: one per person, and the link from a
// ServiceNow identity to the Teams person signed in as it.
const (
	recordContact = "contact"
	recordLinked  = "teams-user"
)

// sealedRecords keeps small values under names for one subject (a person, or a
// ServiceNow identity), sealed and shared by every instance: auth.Records.
type sealedRecords interface {
	Get(ctx context.Context, name string) ([]byte, error) // auth.ErrNoRecord when there is none
	Put(ctx context.Context, name string, value []byte, ttl time.Duration) error
	PutIfAbsent(ctx context.Context, name string, value []byte, ttl time.Duration) (bool, error)
	Delete(ctx context.Context, name string) error
	// Update changes a value with edit, atomically across instances (edit may be called again).
	Update(ctx context.Context, name string, ttl time.Duration, edit func(cur []byte) ([]byte, error)) ([]byte, error)
}

// records are the records of subject.
func (c *Conversation) records(subject string) sealedRecords { return c.Auth.Records(subject) }

// identityRecords are the records of a ServiceNow identity. The subject starts
// with a byte that no Teams user key has, so the two never meet.
func (c *Conversation) identityRecords(sysID string) sealedRecords {
	return c.records("\x00servicenow-user\x00" + sysID)
}

// contact returns the person's contact, or auth.ErrNoRecord.
func (c *Conversation) contact(ctx context.Context, user string) (Contact, error) {
	raw, err := c.records(user).Get(ctx, recordContact)
	if err != nil {
		return Contact{}, err
	}
	var ct Contact
	if json.Unmarshal(raw, &ct) != nil {
		return Contact{}, auth.ErrNoRecord
	}
	return ct, nil
}

// updateContact changes the contact of a signed-in person with edit, writing
// only what changed, and makes sure their ServiceNow identity leads to them,
// so that change events find them (also after they signed in as another
// account). A person who is not signed in has no contact: auth.ErrSignInRequired.
func (c *Conversation) updateContact(ctx context.Context, user string, edit func(ct *Contact)) (Contact, error) {
	id, err := c.Auth.Tokens(user).Identity(ctx)
	if err != nil && !errors.Is(err, auth.ErrNoIdentity) {
		return Contact{}, err
	}
	old, err := c.contact(ctx, user)
	if err != nil && !errors.Is(err, auth.ErrNoRecord) {
		return Contact{}, err
	}
	ct := old
	ct.Chat = append(json.RawMessage(nil), old.Chat...)
	edit(&ct)
	if err != nil || !sameContact(old, ct) {
		raw, _ := json.Marshal(ct)
		if err := c.records(user).Put(ctx, recordContact, raw, 0); err != nil {
			return Contact{}, err
		}
	}
	if id.SysID != "" {
		if err := c.link(ctx, id.SysID, user); err != nil {
			return ct, err
		}
	}
	return ct, nil
}

func sameContact(a, b Contact) bool {
	return string(a.Chat) == string(b.Chat) && a.Muted == b.Muted && a.Gone == b.Gone && a.Told == b.Told && a.Zone == b.Zone && a.Locale == b.Locale
}

// link records that the ServiceNow user sysID is the Teams person user. When
// two Teams people sign in as one ServiceNow account, the latest is told.
func (c *Conversation) link(ctx context.Context, sysID, user string) error {
	r := c.identityRecords(sysID)
	if cur, err := r.Get(ctx, recordLinked); err == nil && string(cur) == user {
		return nil
	}
	return r.Put(ctx, recordLinked, []byte(user), 0)
}

// contactOf finds the Teams person signed in as the ServiceNow user sysID and
// their contact. It is auth.ErrNoRecord when nobody is: never linked, signed
// out, or signed in since as another ServiceNow account.
func (c *Conversation) contactOf(ctx context.Context, sysID string) (user string, ct Contact, err error) {
	raw, err := c.identityRecords(sysID).Get(ctx, recordLinked)
	if err != nil {
		return "", Contact{}, err
	}
	user = string(raw)
	id, err := c.Auth.Tokens(user).Identity(ctx)
	switch {
	case errors.Is(err, auth.ErrSignInRequired), errors.Is(err, auth.ErrNoIdentity):
		return "", Contact{}, auth.ErrNoRecord
	case err != nil:
		return "", Contact{}, err
	case id.SysID != sysID:
		return "", Contact{}, auth.ErrNoRecord
	}
	ct, err = c.contact(ctx, user)
	return user, ct, err
}

// forgetContact removes the person's contact and, if it still points to them,
// the link from their ServiceNow identity.
func (c *Conversation) forgetContact(ctx context.Context, user string, id auth.Identity) error {
	if id.SysID != "" {
		r := c.identityRecords(id.SysID)
		if cur, err := r.Get(ctx, recordLinked); err == nil && string(cur) == user {
			if err := r.Delete(ctx, recordLinked); err != nil {
				return err
			}
		}
	}
	return c.records(user).Delete(ctx, recordContact)
}

// forgetPerson forgets, at sign-out, everything kept to reach the person:
// their contact, the link from their ServiceNow identity, what they follow,
// what they were sent.
func (c *Conversation) forgetPerson(ctx context.Context, user string, id auth.Identity) error {
	if err := c.forgetContact(ctx, user, id); err != nil {
		return err
	}
	if err := c.forgetWatches(ctx, user); err != nil {
		return err
	}
	return c.records(user).Delete(ctx, recordHistory)
}

// personalChat is where notifications for the turn's person go: their 1:1 chat, as a new message.
func personalChat(t *bot.Turn) schema.ConversationReference {
	ref := t.Reference()
	ref.ActivityID = ""
	return ref
}

// rememberChat keeps the person's 1:1 chat with their contact whenever they
// write to the bot, so that notifications find them (and find them again
// after they removed and re-added the app). It asks the store once per
// person and chat per chatMemory, not at every message.
func (c *Conversation) rememberChat(ctx context.Context, t *bot.Turn) {
	if !t.Personal() {
		return
	}
	ref := personalChat(t)
	user := t.User.Key()
	zone, locale := t.Activity.LocalTimezone, t.Activity.Locale
	where := ref.ServiceURL + "\x00" + ref.Conversation.ID + "\x00" + ref.Bot.ID + "\x00" + ref.User.ID + "\x00" + zone + "\x00" + locale
	if c.chats.known(user, where) {
		return
	}
	chat, _ := json.Marshal(ref)
	_, err := c.updateContact(ctx, user, func(ct *Contact) { ct.Chat, ct.Gone, ct.Zone, ct.Locale = chat, false, zone, locale })
	switch {
	case err == nil, errors.Is(err, auth.ErrSignInRequired):
		c.chats.remember(user, where)
	default:
		c.Log.WarnContext(ctx, "could not keep the person's chat for notifications; trying again at their next message", "error", err)
	}
}

// chatMemory is how long a person's chat, once kept, is not written again:
// short enough that a chat another instance marked gone is found again soon.
const chatMemory = 10 * time.Minute

// knownChats remembers which people's chats are kept already.
type knownChats struct {
	mu sync.Mutex
	m  map[string]knownChat
}

// knownChat is where a person's chat was, and when it was kept.
type knownChat struct {
	where string
	at    time.Time
}

func (k *knownChats) known(user, where string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.m[user]
	return ok && e.where == where && time.Since(e.at) < chatMemory
}

func (k *knownChats) remember(user, where string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil || len(k.m) > 100000 {
		k.m = map[string]knownChat{} // a bound, not a cache policy: forgetting costs one store read each
	}
	k.m[user] = knownChat{where: where, at: time.Now()}
}

func (k *knownChats) forget(user string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, user)
}
