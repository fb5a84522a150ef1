package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"snowbot/auth"
	"snowbot/bot"
	"snowbot/bot/chat/cards"
	"snowbot/servicenow"
)

// listLimit is how many incidents a list shows.
const listLimit = 10

// listIncidents answers "incidents".
func (c *Conversation) listIncidents(ctx context.Context, t *bot.Turn) error {
	return c.answer(ctx, t, c.asUser(ctx, t, resume{Text: "incidents"}, func(ctx context.Context, s *servicenow.Session) (outcome, error) {
		list, total, err := s.MyOpenIncidents(ctx, listLimit)
		if err != nil {
			return outcome{}, err
		}
		if len(list) == 0 {
			return said(bot.Text("You have no open incidents. To report one, type **create** followed by a short description.")), nil
		}
		return said(cardMessage(cards.IncidentList(c.view(t), list, total))), nil
	}))
}

// numberAndText checks "<command> INC… <text>": the incident number, and that
// there is text; otherwise it says what is missing, showing how to type it.
func numberAndText(arg, text, command, placeholder, question string) (string, *outcome) {
	number, ok := servicenow.ParseIncidentNumber(arg)
	if !ok {
		o := badNumber(arg, command+" INC0010001 "+placeholder)
		return "", &o
	}
	if strings.TrimSpace(text) == "" {
		o := outcome{answer: bot.Text(question + " Type **" + command + " " + number + " " + placeholder + "**.")}
		return "", &o
	}
	return number, nil
}

// badNumber answers an argument that is not an incident number.
func badNumber(got, usage string) outcome {
	if strings.TrimSpace(got) == "" {
		return outcome{answer: bot.Text("Which incident? Type **" + usage + "**.")}
	}
	return outcome{answer: bot.Text(fmt.Sprintf("“%s” is not an incident number: use INC followed by digits, as in **%s**.", cards.Plain(cards.Clip(got, 40)), usage))}
}

func notFound(number string) outcome {
	return said(bot.Text(fmt.Sprintf("There is no incident %s, or you are not allowed to see it.", number)))
}

// showIncident answers "incident INC…".
func (c *Conversation) showIncident(ctx context.Context, t *bot.Turn, arg string) error {
	number, ok := servicenow.ParseIncidentNumber(firstWord(arg))
	if !ok {
		return c.answer(ctx, t, badNumber(arg, "incident INC0010001"))
	}
	return c.answer(ctx, t, c.asUser(ctx, t, resume{Text: "incident " + number}, func(ctx context.Context, s *servicenow.Session) (outcome, error) {
		inc, err := s.IncidentByNumber(ctx, number)
		if errors.Is(err, servicenow.ErrNotFound) {
			return notFound(number), nil
		}
		if err != nil {
			return outcome{}, err
		}
		return said(cardMessage(cards.IncidentDetail(c.view(t), inc, newFormID()))), nil
	}))
}

// createIncident answers "create …" and the create form.
func (c *Conversation) createIncident(ctx context.Context, t *bot.Turn, n servicenow.NewIncident) outcome {
	again := resume{Value: map[string]any{"action": cards.ActionCreate, "short_description": n.ShortDescription,
		"description": n.Description, "urgency": n.Urgency}}
	return c.asUser(ctx, t, again, func(ctx context.Context, s *servicenow.Session) (outcome, error) {
		caller, err := c.callerID(ctx, t.User.Key(), s)
		if err != nil {
			return outcome{}, err
		}
		n.CallerSysID = caller
		inc, err := s.CreateIncident(ctx, n)
		if err != nil {
			return outcome{}, err
		}
		if inc.ShortDescription == "" {
			inc.ShortDescription = n.ShortDescription
		}
		receipt := cardMessage(cards.Receipt("Report an incident", "Sent: created "+inc.Number+"."))
		return outcome{answer: cardMessage(cards.Created(c.view(t), inc)), done: true, card: &receipt}, nil
	})
}

// callerID is the signed-in user's sys_id: stored with their tokens at
// sign-in, or looked up (and then stored) when the sign-in could not.
func (c *Conversation) callerID(ctx context.Context, user string, s *servicenow.Session) (string, error) {
	tokens := c.Auth.Tokens(user)
	id, err := tokens.Identity(ctx)
	if err == nil {
		return id.SysID, nil
	}
	if !errors.Is(err, auth.ErrNoIdentity) {
		return "", err
	}
	u, err := s.CurrentUser(ctx)
	if err != nil {
		return "", err
	}
	id = auth.Identity{SysID: u.SysID, UserName: u.UserName, Name: u.Name}
	if err := tokens.RememberIdentity(ctx, id); err != nil {
		c.Log.WarnContext(ctx, "could not store who the user is in ServiceNow; looked up again next time", "error", err)
	}
	c.signedIn(ctx, user, &id)
	return u.SysID, nil
}

// comment answers "comment INC… text" and the detail card's Comment button;
// from a card, the card is shown again with the comment.
func (c *Conversation) comment(ctx context.Context, t *bot.Turn, arg, text string, fromCard bool) outcome {
	number, missing := numberAndText(arg, text, "comment", "your comment", "What should the comment say?")
	if missing != nil {
		return *missing
	}
	again := resume{Value: map[string]any{"action": cards.ActionComment, "number": number, "comment": text}}
	return c.asUser(ctx, t, again, func(ctx context.Context, s *servicenow.Session) (outcome, error) {
		_, err := s.AddComment(ctx, number, text)
		if errors.Is(err, servicenow.ErrNotFound) {
			return notFound(number), nil
		}
		if err != nil {
			return outcome{}, err
		}
		o := said(bot.Text(fmt.Sprintf("Added your comment to %s. The caller can see it.", number)))
		if fromCard {
			o.card = c.detailCard(ctx, t, s, number)
		}
		return o, nil
	})
}

// resolve answers "resolve INC… notes" and the detail card's Resolve button.
func (c *Conversation) resolve(ctx context.Context, t *bot.Turn, arg, notes string, fromCard bool) outcome {
	number, missing := numberAndText(arg, notes, "resolve", "your resolution notes", "How was it resolved?")
	if missing != nil {
		return *missing
	}
	again := resume{Value: map[string]any{"action": cards.ActionResolve, "number": number, "notes": notes}}
	return c.asUser(ctx, t, again, func(ctx context.Context, s *servicenow.Session) (outcome, error) {
		_, err := s.Resolve(ctx, number, c.ResolveCode, notes)
		var o outcome
		switch {
		case errors.Is(err, servicenow.ErrNotFound):
			return notFound(number), nil
		case errors.Is(err, servicenow.ErrAlreadyClosed):
			o = said(bot.Text(number + " is already resolved or closed."))
		case err != nil:
			return outcome{}, err
		default:
			o = said(bot.Text(fmt.Sprintf("Resolved %s (%s).", number, c.ResolveCode)))
		}
		if fromCard {
			o.card = c.detailCard(ctx, t, s, number)
		}
		return o, nil
	})
}

// detailCard reads an incident again for the card a button was pressed on;
// nil when that fails (the card then stays as it was).
func (c *Conversation) detailCard(ctx context.Context, t *bot.Turn, s *servicenow.Session, number string) *bot.Message {
	inc, err := s.IncidentByNumber(ctx, number)
	if err != nil {
		c.Log.InfoContext(ctx, "the incident card was not refreshed", "error", err)
		return nil
	}
	m := cardMessage(cards.IncidentDetail(c.view(t), inc, newFormID()))
	return &m
}
