package chat

// This file is the service catalog: finding items, an item's variables as a
// form, ordering it once per form, the typeahead of its reference
// variables, and the person's open requests. All of it with the person's own
// token: they see and order what ServiceNow lets them.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"snowbot/bot"
	"snowbot/bot/chat/cards"
	"snowbot/servicenow"
)

const (
	// catalogLimit is how many items a catalog search lists; requestsLimit
	// how many requests. "catalog" alone reads up to browseLimit items and
	// shows perCategory of each category.
	catalogLimit  = 10
	requestsLimit = 10
	browseLimit   = 100
	perCategory   = 3
	// searchBudget bounds a typeahead's answer: Teams shows the choices as
	// the person types, and gives up on a slow one.
	searchBudget = 4 * time.Second
	// maxChoices is how many choices a typeahead shows at once (Teams' own limit).
	maxChoices = 15
)

// catalog answers "catalog <words>": the items the person may order that
// match, each with an Order button; "catalog" alone, a few of each category.
func (c *Conversation) catalog(ctx context.Context, t *bot.Turn, words string) error {
	words = cards.Clip(strings.TrimSpace(words), maxQuery)
	return c.answer(ctx, t, c.asUser(ctx, t, resume{Text: strings.TrimSpace("catalog " + words)}, func(ctx context.Context, s *servicenow.Session) (outcome, error) {
		limit := catalogLimit
		if words == "" {
			limit = browseLimit
		}
		items, err := s.CatalogItems(ctx, words, limit)
		switch {
		case err != nil:
			return outcome{}, err
		case len(items) == 0 && words == "":
			return said(bot.Text("The service catalog has nothing you may order.")), nil
		case len(items) == 0:
			return said(bot.Text(fmt.Sprintf("No catalog item matches “%s”. Try other words, or type **catalog** alone to see what there is.", cards.Plain(words)))), nil
		case words == "":
			return said(cardMessage(cards.CatalogByCategory(items, perCategory))), nil
		}
		return said(cardMessage(cards.CatalogItems(items, words))), nil
	}))
}

// orderForm answers an item's Order button: the item's form, or a link to
// order it in ServiceNow when it asks for something a card cannot.
func (c *Conversation) orderForm(ctx context.Context, t *bot.Turn, itemID string) error {
	return c.answer(ctx, t, c.asUser(ctx, t, resume{Text: "catalog"}, func(ctx context.Context, s *servicenow.Session) (outcome, error) {
		item, err := s.CatalogItem(ctx, itemID)
		if err != nil {
			return outcome{}, err
		}
		if ok, needs := cards.Orderable(item); !ok {
			return said(cardMessage(cards.OrderInServiceNow(c.view(t), item, needs))), nil
		}
		return said(cardMessage(cards.OrderForm(c.view(t), item, newFormID(), nil, ""))), nil
	}))
}

// orderNow orders what a form asks for, once per form: a second press, a
// second device or another instance gets the first answer. ServiceNow's
// refusal brings the form back, with its reason and what was typed.
func (c *Conversation) orderNow(ctx context.Context, t *bot.Turn, sent map[string]any) error {
	itemID, _ := sent["item"].(string)
	form, _ := sent["form"].(string)
	// Keyed by the form alone: what was typed may differ, the order is one.
	key := map[string]any{"action": cards.ActionOrderNow, "form": form}
	return c.submitted(ctx, t, key, func(ctx context.Context) outcome {
		return c.asUser(ctx, t, resume{Text: "catalog"}, func(ctx context.Context, s *servicenow.Session) (outcome, error) {
			item, err := s.CatalogItem(ctx, itemID)
			if err != nil {
				return outcome{}, err
			}
			values, missing := cards.Typed(item, sent)
			if len(missing) > 0 {
				return c.formAgain(ctx, t, s, item, form, values, "Fill in "+strings.Join(missing, ", ")+"."), nil
			}
			order, err := s.OrderNow(ctx, itemID, values)
			f := classify(err)
			if err != nil && f.refusedByServiceNow() {
				return c.formAgain(ctx, t, s, item, form, values, "ServiceNow did not take the order: "+f.quote), nil
			}
			if err != nil && f.mayHaveGoneThrough() {
				// No answer, or a 5xx (a gateway's timeout, a transaction cut
				// short): the order may have been placed. This form orders no
				// more; requests tells.
				return outcome{answer: bot.Text(orderUnanswered), done: true}, nil
			}
			if err != nil {
				return outcome{}, err
			}
			// The form becomes a receipt (nothing left to press); the order's card follows it.
			receipt := cardMessage(cards.Receipt("Order: "+cards.Plain(item.Name), "Sent: ordered as "+cards.Plain(order.Request)+"."))
			return outcome{answer: cardMessage(cards.Ordered(c.view(t), item, order)), done: true, card: &receipt}, nil
		})
	})
}

const orderUnanswered = "ServiceNow did not confirm your order, so it may or may not have gone through. " +
	"Type **requests** in a minute to see it before you order again."

// formAgain is the form as it was sent, with why it came back: in place of
// the one sent when Teams says which that was, else as a new message.
func (c *Conversation) formAgain(ctx context.Context, t *bot.Turn, s *servicenow.Session, item servicenow.CatalogItem, form string, values map[string]string, note string) outcome {
	for _, va := range item.Variables {
		if id := values[va.Name]; va.Type == servicenow.Reference && id != "" && servicenow.ValidSysID(id) {
			// A filtered choice set shows a name only for a choice it holds.
			if got, err := s.ReferenceName(ctx, va.Reference, id); err == nil {
				values[va.Name+cards.NameSuffix] = got
			}
		}
	}
	again := cardMessage(cards.OrderForm(c.view(t), item, form, values, note))
	if t.Activity.ReplyToID == "" {
		return outcome{answer: again}
	}
	return outcome{answer: bot.Text(cards.Plain(note) + " The form above keeps what you typed: put it right and press **Order** again."), card: &again}
}

// listRequests answers "requests": the person's open requested items.
func (c *Conversation) listRequests(ctx context.Context, t *bot.Turn, _ string) error {
	return c.answer(ctx, t, c.asUser(ctx, t, resume{Text: "requests"}, func(ctx context.Context, s *servicenow.Session) (outcome, error) {
		list, total, err := s.MyOpenRequestedItems(ctx, requestsLimit)
		if err != nil {
			return outcome{}, err
		}
		if len(list) == 0 {
			return said(bot.Text("You have no open requests. Type **catalog** to order something.")), nil
		}
		return said(cardMessage(cards.Requests(c.view(t), list, total))), nil
	}))
}

// OnSearch answers a typeahead of a form's reference variable: the records
// of the referenced table whose name holds what was typed, read with the
// person's token.
func (c *Conversation) OnSearch(ctx context.Context, t *bot.Turn, q bot.SearchQuery) bot.InvokeResponse {
	table, ok := cards.ReferenceTable(q.Dataset)
	if !ok {
		return bot.SearchError("I don't know that list. Ask for the form again.")
	}
	ctx, cancel := context.WithTimeout(ctx, searchBudget)
	defer cancel()
	s := c.ServiceNow.As(c.Auth.Tokens(t.User.Key()))
	top := q.Top
	if top <= 0 || top > maxChoices {
		top = maxChoices
	}
	list, err := s.ReferenceChoices(ctx, table, cards.Clip(q.Text, maxQuery), top)
	if err != nil {
		return c.forTypeahead(ctx, t, err)
	}
	results := make([]bot.SearchResult, 0, len(list))
	for _, r := range list {
		results = append(results, bot.SearchResult{Title: r.Name, Value: r.SysID})
	}
	return bot.SearchResults(results)
}
