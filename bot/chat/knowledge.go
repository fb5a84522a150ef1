package chat

import (
	"context"
	"fmt"
	"strings"

	"snowbot/bot"
	"snowbot/bot/chat/cards"
	"snowbot/servicenow"
)

// kbLimit is how many articles kb shows.
const kbLimit = 5

// searchKnowledge answers "kb <words>": published, current articles the
// person may read that match the words.
func (c *Conversation) searchKnowledge(ctx context.Context, t *bot.Turn, words string) error {
	words = strings.TrimSpace(words)
	if words == "" {
		return c.reply(ctx, t, bot.Text("What should I look for? Type **kb** and a few words, as in **kb vpn password**."))
	}
	words = cards.Clip(words, maxQuery)
	return c.answer(ctx, t, c.asUser(ctx, t, resume{Text: "kb " + words}, func(ctx context.Context, s *servicenow.Session) (outcome, error) {
		list, err := s.SearchKnowledge(ctx, words, 0, kbLimit)
		if err != nil {
			return outcome{}, err
		}
		if len(list) == 0 {
			return said(bot.Text(fmt.Sprintf("No published article matches “%s”. Try other words.", cards.Plain(words)))), nil
		}
		return said(cardMessage(cards.Articles(c.view(t), list))), nil
	}))
}
