package chat

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"snowbot/bot"
	"snowbot/bot/chat/cards"
	"snowbot/servicenow"
)

// approvalsLimit is how many approvals a list shows.
const approvalsLimit = 10

// noSuchApproval answers a button of an approval this person may not see.
const noSuchApproval = "That approval does not exist, or it is not yours to see."

// listApprovals answers "approvals".
func (c *Conversation) listApprovals(ctx context.Context, t *bot.Turn) error {
	return c.answer(ctx, t, c.asUser(ctx, t, resume{Text: "approvals"}, func(ctx context.Context, s *servicenow.Session) (outcome, error) {
		list, total, err := s.MyPendingApprovals(ctx, approvalsLimit)
		if err != nil {
			return outcome{}, err
		}
		if len(list) == 0 {
			return said(bot.Text("Nothing waits for your approval.")), nil
		}
		return said(cardMessage(cards.ApprovalsCard(c.view(t), list, total, cards.Note{}, cardUsers(t)))), nil
	}))
}

// decideTyped answers "approve CHG… [comment]" and "reject CHG… <reason>":
// the person's pending approval of that record is decided (the oldest, in the
// rare case of several).
func (c *Conversation) decideTyped(ctx context.Context, t *bot.Turn, approve bool, rest string) error {
	verb, usage := "approve", "approve CHG0030001 [comment]"
	if !approve {
		verb, usage = "reject", "reject CHG0030001 why you reject it"
	}
	arg, comment := splitFirst(rest)
	_, number, answer := c.recordNumber(arg, usage)
	switch {
	case answer != nil:
		return c.reply(ctx, t, *answer)
	case !approve && strings.TrimSpace(comment) == "":
		return c.reply(ctx, t, bot.Text("Why do you reject it? The person who asked sees your reason. Type **reject "+number+" your reason**."))
	}
	again := resume{Text: verb + " " + number + " " + comment}
	return c.answer(ctx, t, c.asUser(ctx, t, again, func(ctx context.Context, s *servicenow.Session) (outcome, error) {
		pending, err := s.PendingApprovalsFor(ctx, number)
		if err != nil {
			return outcome{}, err
		}
		if len(pending) == 0 {
			return said(bot.Text("Nothing of yours waits for approval on " + number + ": it may be decided already, or not yours to decide. Type **approvals** to see what waits for you.")), nil
		}
		a, note, err := c.decide(ctx, s, readerOf(t), pending[0].SysID, approve, comment)
		if err != nil {
			return outcome{}, err
		}
		m := cardMessage(cards.ApprovalCard(c.view(t), a, cards.Note{}, cardUsers(t)))
		m.Text = note.Sentence()
		return said(m), nil
	}))
}

// Locks are short exclusive claims that every instance sees (the store).
type Locks interface {
	// PutRecordIfAbsent takes key for ttl unless someone holds it; it reports whether it did.
	PutRecordIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// DeleteRecord lets key go.
	DeleteRecord(ctx context.Context, key string) error
}

// decisionLease bounds how long one press may hold an approval: longer than
// a command's ServiceNow budget, so it never lapses while its PATCH is on
// its way, and short enough that a crashed holder blocks nobody for long.
const decisionLease = 30 * time.Second

// claimDecision takes the approval for one press, on whichever instance:
// another press waits here until the first is done, and then finds the
// approval decided. It returns the function that lets the approval go.
func (c *Conversation) claimDecision(ctx context.Context, sysID string) (func(), error) {
	if c.Locks == nil {
		return func() {}, nil
	}
	key := "lock:decide:" + sysID
	for {
		ok, err := c.Locks.PutRecordIfAbsent(ctx, key, []byte{1}, decisionLease)
		if err != nil {
			return nil, err
		}
		if ok {
			return func() {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
				defer cancel()
				if err := c.Locks.DeleteRecord(rctx, key); err != nil {
					c.Log.WarnContext(rctx, "an approval stays claimed until its claim lapses", "error", err)
				}
			}, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// decide re-reads an approval and, if it still waits, decides it; it returns
// the approval as it is now and a sentence saying what happened. Nothing is
// written for an approval decided meanwhile (here, on another device, or by
// someone else of a group), and one press at a time decides, across every
// instance: a second press finds the first one's decision.
func (c *Conversation) decide(ctx context.Context, s *servicenow.Session, reader cards.Reader, sysID string, approve bool, comment string) (servicenow.Approval, cards.Note, error) {
	release, err := c.claimDecision(ctx, sysID)
	if err != nil {
		return servicenow.Approval{}, cards.Note{}, err
	}
	defer release()
	a, err := s.ApprovalByID(ctx, sysID)
	if err != nil {
		return a, cards.Note{}, err
	}
	number := cards.Plain(a.Record.Number)
	if !a.Requested() {
		return a, cards.AlreadyDecided(number, a, reader), nil
	}
	decided, err := s.Decide(ctx, sysID, approve, comment)
	if err != nil {
		return a, cards.Note{}, err
	}
	decided.Record = a.Record // the write answers with the approval, not the record's details
	if approve {
		return decided, cards.Said(cards.Done, "Approved "+number+"."), nil
	}
	return decided, cards.Said(cards.Done, "Rejected "+number+"."), nil
}

// OnAdaptiveCardAction answers the buttons of approval cards (Approve,
// Reject) and their automatic refresh, with the card as it is now.
func (c *Conversation) OnAdaptiveCardAction(ctx context.Context, t *bot.Turn, a bot.CardAction) bot.InvokeResponse {
	verb, kind, id := a.Verb, a.Data["card"], a.Data["approval"]
	needsID := kind == cards.ApprovalOne || verb != cards.VerbRefresh
	if kind != cards.ApprovalOne && kind != cards.ApprovalList || (needsID && !servicenow.ValidSysID(id)) {
		return bot.ErrorResponse(http.StatusBadRequest, "This card's button is not one snowbot knows.")
	}
	switch verb {
	case cards.VerbRefresh:
		if !t.Personal() {
			// Seen where others may look (a forwarded card): nothing of anyone's approvals.
			return bot.ErrorResponse(http.StatusForbidden, "Open your approvals in your 1:1 chat with snowbot.")
		}
		return c.refreshApprovals(ctx, t, kind, id)
	case cards.VerbApprove, cards.VerbReject:
		reason := strings.TrimSpace(a.Data[cards.ReasonInput(id)])
		if verb == cards.VerbReject && reason == "" {
			return bot.ErrorResponse(http.StatusBadRequest, "Say why you reject it.")
		}
		return c.decideByButton(ctx, t, kind, id, verb == cards.VerbApprove, reason)
	}
	return bot.ErrorResponse(http.StatusBadRequest, "This card's button is not one snowbot knows.")
}

// decideByButton decides an approval from its card and answers with the card
// as it is now. When ServiceNow does not answer or refuses, the card keeps its
// buttons and says so; a sign-in it needs comes as a message of its own.
func (c *Conversation) decideByButton(ctx context.Context, t *bot.Turn, kind, id string, approve bool, reason string) bot.InvokeResponse {
	var (
		current servicenow.Approval
		note    cards.Note
	)
	o := c.asUser(ctx, t, resume{Text: "approvals"}, func(ctx context.Context, s *servicenow.Session) (outcome, error) {
		a, n, err := c.decide(ctx, s, readerOf(t), id, approve, reason)
		current, note = a, n
		if errors.Is(err, servicenow.ErrNotFound) {
			return said(bot.Text(noSuchApproval)), nil
		}
		if err != nil {
			return outcome{}, err
		}
		if kind == cards.ApprovalList {
			list, total, err := s.MyPendingApprovals(ctx, approvalsLimit)
			if err != nil {
				return outcome{}, err
			}
			return said(cardMessage(cards.ApprovalsCard(c.view(t), list, total, note, cardUsers(t)))), nil
		}
		return said(cardMessage(cards.ApprovalCard(c.view(t), a, note, cardUsers(t)))), nil
	})
	switch {
	case o.err != nil:
		c.Log.ErrorContext(ctx, "deciding an approval failed", "error", o.err)
		return bot.ErrorResponse(http.StatusInternalServerError, somethingWentWrong)
	case o.done && len(o.answer.Attachments) > 0:
		return bot.CardResponse(o.answer.Attachments[0].Content)
	case o.done:
		return bot.ErrorResponse(http.StatusNotFound, o.answer.Text)
	}
	// Nothing was decided. When trying again soon is the answer, the card says
	// so and keeps its buttons; anything else (a sign-in card, say) comes as a
	// message of its own, in the chat, where its buttons work.
	problem := o.failure.brief()
	if problem == "" {
		t.Later(func(ctx context.Context) {
			if err := c.reply(ctx, t, o.answer); err != nil {
				c.Log.ErrorContext(ctx, "the answer to an approval button was not delivered", "error", err)
			}
		})
		problem = "I could not decide it: see my message below."
	}
	if kind == cards.ApprovalOne && current.SysID != "" {
		return bot.CardResponse(cards.ApprovalCard(c.view(t), current, cards.Said(cards.Trouble, problem), cardUsers(t)).JSON())
	}
	return bot.ErrorResponse(http.StatusServiceUnavailable, problem)
}

// refreshApprovals answers a card's automatic refresh with its current state.
// When that cannot be read, Teams keeps the card as it was, and is told why
// as every failure is told (a 403 as a 403).
func (c *Conversation) refreshApprovals(ctx context.Context, t *bot.Turn, kind, id string) bot.InvokeResponse {
	sctx, cancel := context.WithTimeout(ctx, budgetWithin(ctx))
	defer cancel()
	s := c.ServiceNow.As(c.Auth.Tokens(t.User.Key()))
	var card cards.Card
	var err error
	if kind == cards.ApprovalList {
		var list []servicenow.Approval
		var total int
		if list, total, err = s.MyPendingApprovals(sctx, approvalsLimit); err == nil {
			card = cards.ApprovalsCard(c.view(t), list, total, cards.Note{}, cardUsers(t))
		}
	} else {
		var a servicenow.Approval
		if a, err = s.ApprovalByID(sctx, id); err == nil {
			card = cards.ApprovalCard(c.view(t), a, cards.Note{}, cardUsers(t))
		}
	}
	if err != nil {
		resp, _ := classify(err).forCard()
		return resp
	}
	return bot.CardResponse(card.JSON())
}

// cardUsers are the Teams users for whom a card refreshes itself: the person
// it answers.
func cardUsers(t *bot.Turn) []string {
	if id := t.Activity.From.ID; id != "" {
		return []string{id}
	}
	return nil
}
