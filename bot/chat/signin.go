package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"snowbot/auth"
	"snowbot/bot"
	"snowbot/bot/chat/cards"
)

// Reasons shown on a sign-in card.
const (
	reasonFirstTime    = "To do that I need you to sign in to ServiceNow once. You act in ServiceNow as yourself, with your own rights."
	reasonSessionEnded = "Your ServiceNow session has ended. Please sign in again to continue."
	// Refreshing failed but the tokens are kept.
	reasonRefreshUnanswered = "ServiceNow did not answer when I tried to renew your session. Try your command again in a moment; if it keeps failing, sign in again."
	reasonRefreshRefused    = "ServiceNow refused to renew your session because it does not accept snowbot's own credentials. Signing in again may fail the same way: if it does, tell your Teams administrator (`snowbot doctor` shows what to fix)."
)

// oneToOneOnly is said instead of posting a sign-in link (or anyone's data) where others can see it.
const oneToOneOnly = "I work with your ServiceNow account only in our 1:1 chat, so nobody else sees your sign-in or your incidents. Select my name and choose **Chat**, then ask me there."

// promptSignIn is a sign-in card that resumes again after sign-in.
func (c *Conversation) promptSignIn(ctx context.Context, t *bot.Turn, reason string, again resume) (bot.Message, error) {
	if !t.Personal() {
		return bot.Text(oneToOneOnly), nil
	}
	ref := t.Reference()
	again.Ref = &ref
	resumeJSON, _ := json.Marshal(again)
	url, err := c.Auth.StartSignIn(ctx, t.User.Key(), resumeJSON)
	if err != nil {
		if errors.Is(err, auth.ErrUnavailable) {
			return storeDown(), nil
		}
		return bot.Message{}, err
	}
	return cardMessage(cards.SignIn(reason, url)), nil
}

// completeSignIn binds a verification code to the user who typed it (or whose
// Teams client passed it on) and runs the command that asked for the sign-in.
func (c *Conversation) completeSignIn(ctx context.Context, t *bot.Turn, code string, fromTeams bool) error {
	user := t.User.Key()
	saved, err := c.Auth.CompleteSignIn(ctx, user, code)
	if errors.Is(err, auth.ErrNoSignInWaiting) {
		if who, ok := c.signedInAs(ctx, user); ok {
			// The code of the sign-in that Teams already passed on, or any
			// code once signed in: nothing to do, and nothing changes.
			return c.reply(ctx, t, bot.Text("You're already signed in as "+who+"."))
		}
	}
	var wrong *auth.WrongCodeError
	switch {
	case errors.As(err, &wrong):
		tries := "1 try left"
		if wrong.Left != 1 {
			tries = fmt.Sprintf("%d tries left", wrong.Left)
		}
		return c.reply(ctx, t, bot.Text("That code is not right. Check the six digits on the sign-in page and send them again ("+tries+")."))
	case errors.Is(err, auth.ErrTooManyCodes):
		return c.reply(ctx, t, bot.Text("That was the fifth wrong code, so I cancelled this sign-in to keep your account safe. Type your command again to start a new one."))
	case errors.Is(err, auth.ErrNoSignInWaiting):
		return c.reply(ctx, t, bot.Text("That looks like a sign-in code, but no sign-in is waiting for you here. Codes work once, for 10 minutes, and only for the person who asked for the sign-in. Type your command again (for example **incidents**) to get a new sign-in card."))
	case errors.Is(err, auth.ErrUnavailable):
		return c.reply(ctx, t, storeDown())
	case err != nil:
		return err
	}
	c.signedIn(ctx, user, saved.Identity)
	c.resumeSubscriptionsOf(ctx, user, postFrom(t))
	if err := c.reply(ctx, t, bot.Text("You're signed in to ServiceNow.")); err != nil {
		return err
	}
	// Notifications go to this chat from now on.
	c.chats.forget(user)
	c.rememberChat(ctx, t)
	var r resume
	if len(saved.Resume) == 0 || json.Unmarshal(saved.Resume, &r) != nil {
		return nil
	}
	target := t
	if r.Ref != nil && r.Ref.Conversation.ID != "" {
		// Answer where the command was typed, which is where its user looks for it.
		target = t.ResumedAt(*r.Ref)
	}
	switch {
	case len(r.Value) > 0:
		return c.onSubmit(ctx, target, r.Value)
	case r.Text != "":
		return c.onCommand(ctx, target, r.Text)
	}
	return nil
}

// postFrom posts to any conversation through the turn's channel.
func postFrom(t *bot.Turn) func(ctx context.Context, ref schema.ConversationReference, m bot.Message) error {
	return func(ctx context.Context, ref schema.ConversationReference, m bot.Message) error {
		_, err := t.ResumedAt(ref).Reply(ctx, m)
		return err
	}
}

// signedIn makes the ServiceNow identity a person just signed in as lead to
// them, so that change events about that account reach them: also when it is
// another account than before (the link moves with the sign-in).
func (c *Conversation) signedIn(ctx context.Context, user string, id *auth.Identity) {
	if id == nil {
		return // looked up, and linked, when the identity is first needed
	}
	if err := c.link(ctx, id.SysID, user); err != nil {
		c.Log.WarnContext(ctx, "could not link the ServiceNow account to the person; linked again at their next message", "error", err)
	}
}

// signedInAs says who the person is signed in to ServiceNow as (their
// name, or "ServiceNow" when the lookup at sign-in failed); ok is false when
// they are not signed in.
func (c *Conversation) signedInAs(ctx context.Context, user string) (string, bool) {
	id, err := c.Auth.Tokens(user).Identity(ctx)
	switch {
	case err == nil && id.Name != "":
		return cards.Plain(id.Name), true
	case err == nil && id.UserName != "":
		return cards.Plain(id.UserName), true
	case err == nil, errors.Is(err, auth.ErrNoIdentity):
		return "ServiceNow", true
	}
	return "", false
}

// signOut revokes the user's tokens at the instance and forgets them.
func (c *Conversation) signOut(ctx context.Context, t *bot.Turn) error {
	user := t.User.Key()
	id, _ := c.Auth.Tokens(user).Identity(ctx) // who to unlink; none is known when the lookup failed
	revoked, err := c.Auth.SignOut(ctx, user)
	c.chats.forget(user)
	if err == nil {
		err = c.forgetPerson(ctx, user, id)
	}
	if err == nil {
		c.pauseSubscriptionsOf(ctx, user, postFrom(t))
	}
	switch {
	case errors.Is(err, auth.ErrSignInRequired):
		return c.reply(ctx, t, bot.Text("You are not signed in to ServiceNow, so there is nothing to sign out of."))
	case errors.Is(err, auth.ErrUnavailable):
		return c.reply(ctx, t, storeDown())
	case err != nil:
		return err
	case revoked:
		return c.reply(ctx, t, bot.Text("You're signed out of ServiceNow: I revoked my access to your account and forgot your tokens."))
	default:
		return c.reply(ctx, t, bot.Text("You're signed out: I forgot your ServiceNow tokens. ServiceNow did not confirm that it revoked them, so they keep working until they expire; you or your ServiceNow administrator can revoke them in ServiceNow."))
	}
}
