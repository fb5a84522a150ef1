package servicenow

import (
	"context"
	"errors"
	"regexp"
	"strings"
)

// Article is a knowledge article as the bot shows it.
type Article struct {
	SysID  string
	Number string
	Title  string
	Text   string // HTML, as ServiceNow stores it
}

var (
	articleFields  = []string{"sys_id", "number", "short_description", "text"}
	numberPrefix   = regexp.MustCompile(`^(?i)INC[0-9]{0,20}$`)
	articleNumber  = regexp.MustCompile(`^(?i)KB[0-9]{1,20}$`)
	maxSearchWords = 6
)

// ParseArticleNumber validates a knowledge article number (KB and digits, any
// case) and returns it in upper case.
func ParseArticleNumber(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if !articleNumber.MatchString(s) {
		return "", false
	}
	return strings.ToUpper(s), true
}

// matching adds to q what text asks for: a number prefix (INC…), or words,
// each of which the short description must contain. Empty text adds nothing.
func matching(q *Query, field, text string) *Query {
	text = strings.TrimSpace(text)
	if numberPrefix.MatchString(text) {
		return q.StartsWith("number", strings.ToUpper(text))
	}
	words := strings.Fields(text)
	if len(words) > maxSearchWords {
		words = words[:maxSearchWords]
	}
	for _, w := range words {
		q.Like(field, w)
	}
	return q
}

// SearchIncidents finds incidents the user may read whose number starts with
// text or whose short description holds its words: the user's own first, then
// others, active before closed, most recently updated first; skip and count
// page through them all. When the search of others fails (ServiceNow too
// slow, say), the user's own are returned with the error.
func (s *Session) SearchIncidents(ctx context.Context, text string, skip, count int) ([]Incident, error) {
	order := func(q *Query) *Query { return q.OrderByDesc("active").OrderByDesc("sys_updated_on") }
	p := Params{Fields: listFields, DisplayValue: "all"}
	p.Offset, p.Limit = skip, count
	own, ownTotal, err := s.List(ctx, "incident", order(matching(NewQuery().IsCurrentUser("caller_id"), "short_description", text)), p)
	if err != nil {
		return nil, err
	}
	out := make([]Incident, 0, count)
	for _, r := range own {
		out = append(out, incidentFrom(r))
	}
	if len(out) >= count {
		return out, nil
	}
	p.Offset, p.Limit = max(0, skip-ownTotal), count-len(out)
	others, _, err := s.List(ctx, "incident", order(matching(NewQuery().NotCurrentUser("caller_id"), "short_description", text)), p)
	for _, r := range others {
		out = append(out, incidentFrom(r))
	}
	return out, err
}

// SearchKnowledge finds published, current articles the user may read that
// match words: with ServiceNow's keyword search, or, where the instance's
// index finds nothing (or it is not available), by words in the title.
func (s *Session) SearchKnowledge(ctx context.Context, words string, skip, count int) ([]Article, error) {
	p := Params{Fields: articleFields, Offset: skip, Limit: count, DisplayValue: "all"}
	var recs []Record
	var err error
	if w := strings.TrimSpace(words); w != "" {
		recs, _, err = s.List(ctx, "kb_knowledge", current().Keywords(w), p)
		var snErr *Error
		if errors.As(err, &snErr) && snErr.Status == 400 {
			err = nil // an instance that does not know the keyword search: by title instead
		}
		if err != nil {
			return nil, err
		}
	}
	if len(recs) == 0 {
		recs, _, err = s.List(ctx, "kb_knowledge", matching(current(), "short_description", words).OrderByDesc("sys_updated_on"), p)
		if err != nil {
			return nil, err
		}
	}
	out := make([]Article, 0, len(recs))
	for _, r := range recs {
		out = append(out, articleFrom(r))
	}
	return out, nil
}

// current are the articles people are meant to read: published, and not
// past their valid-to date. Drafts, retired and expired articles are left
// to ServiceNow's own pages.
func current() *Query {
	return NewQuery().Eq("workflow_state", "published").NotBeforeToday("valid_to")
}

// ArticleByNumber returns a current knowledge article; ErrNotFound when there
// is none the user may read.
func (s *Session) ArticleByNumber(ctx context.Context, number string) (Article, error) {
	n, ok := ParseArticleNumber(number)
	if !ok {
		return Article{}, ErrInvalidNumber
	}
	return s.oneArticle(ctx, current().Eq("number", n))
}

func (s *Session) oneArticle(ctx context.Context, q *Query) (Article, error) {
	recs, _, err := s.List(ctx, "kb_knowledge", q, Params{Fields: articleFields, Limit: 1, DisplayValue: "all"})
	if err != nil {
		return Article{}, err
	}
	if len(recs) == 0 {
		return Article{}, &Error{Status: 404, Message: "No Record found"}
	}
	return articleFrom(recs[0]), nil
}

func articleFrom(r Record) Article {
	return Article{SysID: r.Get("sys_id").Value, Number: r.Get("number").Display, Title: r.Get("short_description").Display, Text: r.Get("text").Value}
}

// ArticleByID returns a current knowledge article by sys_id; ErrNotFound
// when there is none the user may read.
func (s *Session) ArticleByID(ctx context.Context, sysID string) (Article, error) {
	if !ValidSysID(sysID) {
		return Article{}, ErrInvalidSysID
	}
	return s.oneArticle(ctx, current().Eq("sys_id", sysID))
}
