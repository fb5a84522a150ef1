package chat

// This file is "show" and numbers: any record of any task table, found by
// the prefix of its number, read with the person's own token.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"snowbot/bot"
	"snowbot/bot/chat/cards"
	"snowbot/servicenow"
)

// defaultSearchTables are the tables searchRecords searches when
// SERVICENOW_SEARCH_TABLES does not say.
var defaultSearchTables = []string{"incident", "change_request", "problem", "sc_req_item"}

// prefixes are the number prefixes the conversation knows.
func (c *Conversation) prefixes() servicenow.Prefixes {
	if c.Prefixes == nil {
		return servicenow.DefaultPrefixes
	}
	return c.Prefixes
}

// searchTables are the tables searchRecords searches.
func (c *Conversation) searchTables() []string {
	if len(c.SearchTables) == 0 {
		return defaultSearchTables
	}
	return c.SearchTables
}

// recordNumber reads a record number typed for command: its table and the
// number in upper case; when it is no number, or of no table snowbot knows,
// the answer that says so.
func (c *Conversation) recordNumber(arg, usage string) (table, number string, answer *bot.Message) {
	arg = strings.TrimSpace(arg)
	table, number, known, ok := c.prefixes().Table(arg)
	switch {
	case arg == "":
		m := bot.Text("Which record? Type **" + usage + "**.")
		return "", "", &m
	case !ok:
		m := bot.Text(fmt.Sprintf("“%s” is not a record number: use its prefix and digits, as in **%s**.", cards.Plain(cards.Clip(arg, 40)), usage))
		return "", "", &m
	case !known:
		m := bot.Text(fmt.Sprintf("I don't know records whose number starts like “%s”. I know these prefixes: %s. (Your administrator can add others with SERVICENOW_NUMBER_PREFIXES.)",
			cards.Plain(cards.Clip(arg, 40)), c.prefixes().Known()))
		return "", "", &m
	}
	return table, number, nil
}

// show answers "show NUMBER" (and a message that is only a number): the
// record's card, read with the person's token.
func (c *Conversation) show(ctx context.Context, t *bot.Turn, arg string) error {
	table, number, answer := c.recordNumber(firstWord(arg), "show CHG0030001")
	if _, _, _, isNumber := c.prefixes().Table(firstWord(arg)); !isNumber && arg != "" {
		// "show my incidents": a command named in a sentence.
		for _, w := range strings.Fields(strings.ToLower(arg)) {
			if cmd := commandNames[w]; cmd != nil && cmd.Name != "show" {
				return c.reply(ctx, t, bot.Text(fmt.Sprintf("Did you mean **%s**? To see one record, type **show** and its number, as in **show CHG0030001**.", cmd.Name)))
			}
		}
	}
	if answer != nil {
		return c.reply(ctx, t, *answer)
	}
	switch table {
	case "incident":
		return c.showIncident(ctx, t, number)
	case "kb_knowledge":
		return c.showArticle(ctx, t, number)
	}
	return c.answer(ctx, t, c.asUser(ctx, t, resume{Text: "show " + number}, func(ctx context.Context, s *servicenow.Session) (outcome, error) {
		r, err := s.RecordByNumber(ctx, table, number)
		if errors.Is(err, servicenow.ErrNotFound) {
			return said(bot.Text(number + ": not found, or not yours to see.")), nil
		}
		if err != nil {
			return outcome{}, err
		}
		if table == "sc_req_item" || table == "change_request" {
			// Where it stands waits on them; a person who may not read them sees none.
			r.Approvals, _ = s.ApprovalsOf(ctx, r.SysID)
		}
		labels := s.Labels(ctx, table, append([]string{"state", "priority", "assigned_to", "assignment_group", "opened_by", "sys_updated_on"}, servicenow.KeyFields(table)...))
		return said(cardMessage(cards.Record(c.view(t), r, labels))), nil
	}))
}

// showArticle answers "show KB…": the article, if it is published and the
// person may read it.
func (c *Conversation) showArticle(ctx context.Context, t *bot.Turn, number string) error {
	return c.answer(ctx, t, c.asUser(ctx, t, resume{Text: "show " + number}, func(ctx context.Context, s *servicenow.Session) (outcome, error) {
		a, err := s.ArticleByNumber(ctx, number)
		if errors.Is(err, servicenow.ErrNotFound) {
			return said(bot.Text(number + ": not found, or not yours to see.")), nil
		}
		if err != nil {
			return outcome{}, err
		}
		return said(cardMessage(cards.Articles(c.view(t), []servicenow.Article{a}))), nil
	}))
}

// commentTyped answers "comment NUMBER text" for a record of any table.
func (c *Conversation) commentTyped(ctx context.Context, t *bot.Turn, rest string) error {
	const usage = "comment INC0010001 Any news?"
	arg, body := splitFirst(rest)
	table, number, answer := c.recordNumber(arg, usage)
	switch {
	case answer != nil:
		return c.reply(ctx, t, *answer)
	case table == "incident":
		return c.answer(ctx, t, c.comment(ctx, t, number, body, false))
	case table == "kb_knowledge":
		return c.reply(ctx, t, bot.Text("Knowledge articles take no comments here: name an incident, change, problem or request."))
	case strings.TrimSpace(body) == "":
		return c.reply(ctx, t, bot.Text("What should the comment say? Type **comment "+number+" your comment**."))
	}
	return c.answer(ctx, t, c.commentOnRecord(ctx, t, table, number, body))
}

// commentOnRecord adds a comment to a record of a task table other than an
// incident: "comment CHG… text".
func (c *Conversation) commentOnRecord(ctx context.Context, t *bot.Turn, table, number, text string) outcome {
	again := resume{Text: "comment " + number + " " + text}
	return c.asUser(ctx, t, again, func(ctx context.Context, s *servicenow.Session) (outcome, error) {
		_, err := s.AddJournal(ctx, table, number, "comments", text)
		if errors.Is(err, servicenow.ErrNotFound) {
			return said(bot.Text(number + ": not found, or not yours to see.")), nil
		}
		if err != nil {
			return outcome{}, err
		}
		return said(bot.Text(fmt.Sprintf("Added your comment to %s.", number))), nil
	})
}
