package chat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"snowbot/auth"
	"snowbot/bot"
)

// A submitted card (the create form, the Comment and Resolve buttons of an
// incident) is acted on once: a double click, a second device or an old copy
// of the card sending the same thing again gets the first answer, and nothing
// is written twice.
const (
	// submissionMemory is how long the answer to a submission is remembered.
	submissionMemory = 24 * time.Hour
	// waitForFirst is how long a repeat waits for the first submission's answer.
	waitForFirst = 10 * time.Second
)

// submission is what is remembered of a submitted card.
type submission struct {
	Done   bool        `json:"done"`
	Answer bot.Message `json:"answer"`
}

// submitted runs do for a card submission once, and answers in the chat.
func (c *Conversation) submitted(ctx context.Context, t *bot.Turn, v map[string]any, do func(ctx context.Context) outcome) error {
	o, repeat, err := c.once(ctx, t.User.Key(), v, do)
	switch {
	case errors.Is(err, auth.ErrUnavailable):
		return c.reply(ctx, t, storeDown())
	case err != nil:
		return err
	case repeat && o.done:
		m := o.answer
		note := "You already sent this, so I did not do it again. This is what happened the first time:"
		if m.Text != "" {
			m.Text = note + "\n\n" + m.Text
		} else {
			m.Text = note
		}
		return c.reply(ctx, t, m)
	case repeat:
		return c.reply(ctx, t, o.answer)
	}
	return c.answerSubmission(ctx, t, o)
}

// once runs do for what a form submitted (v, with the form's id under "form")
// at most once for user. A repeat runs nothing: it gets the first answer
// (repeat, and o.done), or, when there is none to give, a message saying why
// (repeat, not o.done). Submissions without a form id (cards sent before
// forms had one) are simply run.
func (c *Conversation) once(ctx context.Context, user string, v map[string]any, do func(ctx context.Context) outcome) (o outcome, repeat bool, err error) {
	form, _ := v["form"].(string)
	if form == "" {
		return do(ctx), false, nil
	}
	name := "submission:" + submissionKey(form, v)
	records := c.records(user)
	first, err := records.PutIfAbsent(ctx, name, mustJSON(submission{}), submissionMemory)
	if err != nil {
		return outcome{}, false, err
	}
	if !first {
		o, err := c.firstAnswer(ctx, records, name)
		return o, true, err
	}
	o = do(ctx)
	if o.err != nil || !o.done {
		// Nothing was done: the same form may be sent again.
		if derr := records.Delete(ctx, name); derr != nil {
			c.Log.WarnContext(ctx, "a failed submission stays marked as sent until it expires", "error", derr)
		}
		return o, false, nil
	}
	if err := records.Put(ctx, name, mustJSON(submission{Done: true, Answer: o.answer}), submissionMemory); err != nil {
		c.Log.WarnContext(ctx, "the answer to a submission was not remembered", "error", err)
	}
	return o, false, nil
}

// answerSubmission sends the answer and turns the submitted card into what it
// became (a receipt, or the incident as it is now).
func (c *Conversation) answerSubmission(ctx context.Context, t *bot.Turn, o outcome) error {
	if o.err != nil {
		return o.err
	}
	if o.card != nil && t.Activity.ReplyToID != "" {
		if err := t.Update(ctx, t.Activity.ReplyToID, *o.card); err != nil {
			c.Log.InfoContext(ctx, "the submitted card was not updated", "error", err)
		}
	}
	return c.reply(ctx, t, o.answer)
}

// firstAnswer is what the first of repeated submissions answered, waiting a
// little while the first is still at work.
func (c *Conversation) firstAnswer(ctx context.Context, records sealedRecords, name string) (outcome, error) {
	deadline := time.Now().Add(waitForFirst)
	if dl, ok := ctx.Deadline(); ok && dl.Add(-answerReserve).Before(deadline) {
		deadline = dl.Add(-answerReserve) // an invoke is answered within seconds
	}
	for {
		raw, err := records.Get(ctx, name)
		var s submission
		switch {
		case errors.Is(err, auth.ErrNoRecord):
			// The first attempt failed and let go: this one may try, but a
			// person pressing twice wants one attempt, so say so instead.
			return outcome{answer: bot.Text(firstTryFailed)}, nil
		case err != nil:
			return outcome{}, err
		case json.Unmarshal(raw, &s) == nil && s.Done:
			return outcome{answer: s.Answer, done: true}, nil
		}
		if time.Now().After(deadline) {
			return outcome{answer: bot.Text(stillWorking)}, nil
		}
		select {
		case <-ctx.Done():
			return outcome{}, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

const (
	firstTryFailed = "Your first try did not go through. Send it again if you still want it."
	stillWorking   = "I'm still working on what you sent a moment ago; its answer comes as soon as ServiceNow replies."
)

// submissionKey names one submission: the card, the button and what was typed
// into it (the same card may rightly send two different comments).
func submissionKey(form string, v map[string]any) string {
	h := sha256.New()
	h.Write(mustJSON(v)) // encoding/json sorts map keys: equal values, equal bytes
	return form + ":" + hex.EncodeToString(h.Sum(nil)[:12])
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
