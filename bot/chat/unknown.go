package chat

// This file answers what is not a command: kindly, and with the command that
// was probably meant.

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"snowbot/bot"
	"snowbot/bot/chat/cards"
)

// unknown answers text that is no command: a greeting or thanks kindly, a
// number (alone, or in a question) with its record, a typo with the command
// it is closest to, and anything else with how to find out.
func (c *Conversation) unknown(ctx context.Context, t *bot.Turn, name, text string) error {
	words := strings.FieldsFunc(strings.ToLower(cleanText(text)), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	switch {
	case len(words) > 0 && len(words) <= 3 && greetings[words[0]]:
		return c.reply(ctx, t, bot.Text("Hi! Try **incidents** for your open incidents, **approvals** for what waits for you, or **help** for everything I can do."))
	case len(words) > 0 && len(words) <= 4 && thanks[words[0]]:
		return c.reply(ctx, t, bot.Text("You're welcome! Type **help** whenever you want to see what I can do."))
	}
	if _, number, ok := c.prefixes().Find(text); ok {
		return c.show(ctx, t, number) // a number alone, or a question that names one
	}
	if _, _, known, ok := c.prefixes().Table(name); ok && !known && len(words) == 1 {
		_, _, answer := c.recordNumber(name, "show CHG0030001")
		return c.reply(ctx, t, *answer)
	}
	if near := closestCommand(name, words); near != "" {
		return c.reply(ctx, t, bot.Text(fmt.Sprintf("I don't know the command \"%s\". Did you mean **%s**? Type **help** to see what I can do.", cards.Plain(cards.Clip(name, 40)), near)))
	}
	if len(words) > 3 {
		// A sentence, not a mistyped command.
		return c.reply(ctx, t, bot.Text("I work with commands, such as **incidents**, **create** followed by what is wrong, or a record number. Type **help** to see them all."))
	}
	return c.reply(ctx, t, bot.Text(fmt.Sprintf("I don't know the command \"%s\". Type **help** to see what I can do.", cards.Plain(cards.Clip(name, 40)))))
}

var (
	greetings = map[string]bool{"hi": true, "hello": true, "hey": true, "hallo": true, "hiya": true, "howdy": true, "morning": true, "good": true, "yo": true}
	thanks    = map[string]bool{"thanks": true, "thank": true, "thx": true, "ty": true, "cheers": true, "merci": true, "danke": true}
)

// closestCommand is the command a mistyped one most likely meant: the
// closest within two edits, or else a command named among the words (as in
// "show my incidents"); "" when none is close.
func closestCommand(name string, words []string) string {
	best, bestDist := "", 3
	for _, cmd := range Commands {
		if d := editDistance(name, cmd.Name); d < bestDist && len(name) > 1 {
			best, bestDist = cmd.Name, d
		}
	}
	if best != "" {
		return best
	}
	for _, w := range words {
		for _, cmd := range Commands {
			if w == cmd.Name && w != name {
				return cmd.Name
			}
		}
	}
	return ""
}

// editDistance is the Levenshtein distance of two short words, counted in
// runes. (Written out: the words are a few letters long, and a library for
// eleven lines is more to keep than the lines.)
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}
