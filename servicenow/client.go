// Package servicenow calls ServiceNow's Table API as a signed-in person: every
// request carries that person's Bearer token, taken from a token source the
// caller hands in. It knows nothing of Teams or of how tokens are obtained.
package servicenow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"
)

// TokenSource gives the access token of the person the calls are made for.
type TokenSource interface {
	// Token returns a usable access token.
	Token(ctx context.Context) (string, error)
	// Refresh returns a new token after ServiceNow refused stale.
	Refresh(ctx context.Context, stale string) (string, error)
}

// Limits of a call.
const (
	// attemptTimeout bounds one HTTP request.
	attemptTimeout = 10 * time.Second
	// readRetries is how often a read is retried after a 5xx or a timeout.
	readRetries = 2
	// MaxWait is the longest Retry-After the client waits for by itself.
	MaxWait = 5 * time.Second
	// MaxLimit bounds sysparm_limit.
	MaxLimit = 100
)

// Client calls one instance's Table API.
type Client struct {
	base   string
	host   string        // the instance's host, for telemetry
	reads  *resty.Client // retried on 5xx and transport errors
	writes *resty.Client // never retried blindly: a lost answer may hide a done write
	labels labels        // tables' field labels, read once for everyone
}

// New returns a client for the instance at instanceURL (no trailing slash).
// httpClient may be nil.
func New(instanceURL string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	host := instanceURL
	if u, err := url.Parse(instanceURL); err == nil {
		host = u.Host
	}
	transport := httpClient.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	mk := func() *resty.Client {
		hc := *httpClient // resty sets the timeout on its client: keep the caller's untouched
		hc.Transport = measured{next: transport, host: host}
		return resty.NewWithClient(&hc).
			SetBaseURL(instanceURL).
			SetTimeout(attemptTimeout).
			SetHeader("Accept", "application/json").
			SetDisableWarn(true).
			SetLogger(silent{})
	}
	reads := mk().
		SetRetryCount(readRetries).
		SetRetryWaitTime(300 * time.Millisecond).
		SetRetryMaxWaitTime(2 * time.Second).
		AddRetryCondition(func(r *resty.Response, err error) bool {
			return err != nil || (r != nil && r.StatusCode() >= 500)
		})
	return &Client{base: strings.TrimRight(instanceURL, "/"), host: host, reads: reads, writes: mk()}
}

// InstanceURL is the instance's base URL.
func (c *Client) InstanceURL() string { return c.base }

// Identify looks up the user an access token belongs to, right after sign-in
// (the token is fresh, so it is not refreshed).
func (c *Client) Identify(ctx context.Context, accessToken string) (User, error) {
	return c.As(staticToken(accessToken)).CurrentUser(ctx)
}

// staticToken is one access token that cannot be refreshed.
type staticToken string

func (t staticToken) Token(context.Context) (string, error) { return string(t), nil }
func (t staticToken) Refresh(context.Context, string) (string, error) {
	return "", &Error{Status: http.StatusUnauthorized, Message: "the new token was refused"}
}

// As returns the calls made as the person whose tokens ts gives.
func (c *Client) As(ts TokenSource) *Session { return &Session{c: c, ts: ts} }

// Session makes Table API calls for one person.
type Session struct {
	c  *Client
	ts TokenSource
}

// Value is a field as the Table API returns it: its stored value and the label
// people see. With sysparm_display_value=all a field is an object with both;
// in the other modes it is a plain string, which is both.
type Value struct {
	Value   string `json:"value"`
	Display string `json:"display_value"`
}

// Record is one row.
type Record map[string]Value

// complete fills the half of each field that its answer left out (a reference
// link carries no display value; a display-only field no value).
func (r Record) complete() Record {
	for k, v := range r {
		if v.Value == "" || v.Display == "" {
			if v.Value == "" {
				v.Value = v.Display
			} else {
				v.Display = v.Value
			}
			r[k] = v
		}
	}
	return r
}

// decodeRows reads the rows of a Table API answer ({"result":[…]}). Rows of
// objects (sysparm_display_value=all, as snowbot asks) decode in one pass,
// about twice as fast as field by field, which reads any other shape.
func decodeRows(body []byte) ([]Record, error) {
	var out struct {
		Result []Record `json:"result"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		var raw struct {
			Result []map[string]json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal(body, &raw); err != nil {
			return nil, err
		}
		out.Result = make([]Record, len(raw.Result))
		for i, row := range raw.Result {
			if out.Result[i], err = fieldByField(row); err != nil {
				return nil, err
			}
		}
	}
	for _, r := range out.Result {
		r.complete()
	}
	return out.Result, nil
}

// decodeRow reads the one row of an answer ({"result":{…}}).
func decodeRow(body []byte) (Record, error) {
	var out struct {
		Result Record `json:"result"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		var raw struct {
			Result map[string]json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal(body, &raw); err != nil {
			return nil, err
		}
		if out.Result, err = fieldByField(raw.Result); err != nil {
			return nil, err
		}
	}
	return out.Result.complete(), nil
}

// fieldByField reads a row whose fields are plain strings or objects.
func fieldByField(row map[string]json.RawMessage) (Record, error) {
	r := make(Record, len(row))
	for k, raw := range row {
		var v Value
		if len(raw) > 0 && raw[0] == '"' {
			if err := json.Unmarshal(raw, &v.Value); err != nil {
				return nil, err
			}
		} else if err := json.Unmarshal(raw, &v); err != nil {
			return nil, err
		}
		r[k] = v
	}
	return r, nil
}

// Get returns a field, empty when absent.
func (r Record) Get(name string) Value { return r[name] }

// DateTimeLayout is how the Table API writes a date and time: the stored
// value in UTC, and (in the default format) the display value in the
// reader's time zone.
const DateTimeLayout = "2006-01-02 15:04:05"

// Time returns a date/time or date field as a moment in UTC, read from its
// stored value; zero when absent or unreadable.
func (r Record) Time(name string) time.Time {
	v := r[name].Value
	for _, layout := range []string{DateTimeLayout, "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t
		}
	}
	return time.Time{}
}

// displayOffset is how far the display value of a date/time field is ahead
// of its stored UTC value: the time zone ServiceNow shows this reader. Zero
// when either cannot be read (a display format other than the default, say).
func (r Record) displayOffset(name string) time.Duration {
	f := r[name]
	v, err1 := time.ParseInLocation(DateTimeLayout, f.Value, time.UTC)
	d, err2 := time.ParseInLocation(DateTimeLayout, f.Display, time.UTC)
	if err1 != nil || err2 != nil {
		return 0
	}
	return d.Sub(v)
}

// Params shape a Table API request.
type Params struct {
	Fields       []string // sysparm_fields: only what is shown
	Limit        int      // sysparm_limit, at most MaxLimit
	Offset       int
	DisplayValue string // "", "true", "false" or "all"
}

func (p Params) query(q string) map[string]string {
	m := map[string]string{"sysparm_exclude_reference_link": "true"}
	if q != "" {
		m["sysparm_query"] = q
	}
	if len(p.Fields) > 0 {
		m["sysparm_fields"] = strings.Join(p.Fields, ",")
	}
	if p.DisplayValue != "" {
		m["sysparm_display_value"] = p.DisplayValue
	}
	if p.Limit > 0 {
		m["sysparm_limit"] = strconv.Itoa(min(p.Limit, MaxLimit))
	}
	if p.Offset > 0 {
		m["sysparm_offset"] = strconv.Itoa(p.Offset)
	}
	return m
}

// List returns the records of table matching q and the total count of matches.
func (s *Session) List(ctx context.Context, table string, q *Query, p Params) ([]Record, int, error) {
	encoded, err := q.Encode()
	if err != nil {
		return nil, 0, err
	}
	if p.Limit <= 0 {
		p.Limit = MaxLimit
	}
	var rows []Record
	decode := func(body []byte) (err error) {
		rows, err = decodeRows(body)
		return err
	}
	resp, err := s.do(ctx, http.MethodGet, "/api/now/table/"+url.PathEscape(table), p.query(encoded), nil, decode)
	if err != nil {
		return nil, 0, err
	}
	total, err := strconv.Atoi(resp.Header().Get("X-Total-Count"))
	if err != nil {
		total = len(rows)
	}
	return rows, total, nil
}

// ErrInvalidSysID is a record id that is not 32 hexadecimal characters. Ids
// go into URL paths, so anything else (a ".." from a confused proxy, say) is
// refused before a request is made.
var ErrInvalidSysID = errors.New("not a ServiceNow sys_id (32 hexadecimal characters)")

var sysIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)

// ValidSysID reports whether s is a sys_id.
func ValidSysID(s string) bool { return sysIDPattern.MatchString(s) }

// Get returns one record by sys_id.
func (s *Session) Get(ctx context.Context, table, sysID string, p Params) (Record, error) {
	if !ValidSysID(sysID) {
		return nil, ErrInvalidSysID
	}
	var row Record
	_, err := s.do(ctx, http.MethodGet, "/api/now/table/"+url.PathEscape(table)+"/"+url.PathEscape(sysID), p.query(""), nil, into(&row))
	return row, err
}

// Create inserts a record and returns it.
func (s *Session) Create(ctx context.Context, table string, fields map[string]string, p Params) (Record, error) {
	var row Record
	_, err := s.do(ctx, http.MethodPost, "/api/now/table/"+url.PathEscape(table), p.query(""), fields, into(&row))
	return row, err
}

// Update changes fields of a record and returns it.
func (s *Session) Update(ctx context.Context, table, sysID string, fields map[string]string, p Params) (Record, error) {
	if !ValidSysID(sysID) {
		return nil, ErrInvalidSysID
	}
	var row Record
	_, err := s.do(ctx, http.MethodPatch, "/api/now/table/"+url.PathEscape(table)+"/"+url.PathEscape(sysID), p.query(""), fields, into(&row))
	return row, err
}

// into decodes the one row of an answer into r.
func into(r *Record) func([]byte) error {
	return func(b []byte) (err error) {
		*r, err = decodeRow(b)
		return err
	}
}

// do sends a request as the person: on 401 the token is refreshed once and the
// request sent again; a short Retry-After on 429 is waited for once.
func (s *Session) do(ctx context.Context, method, path string, query map[string]string, body any, decode func([]byte) error) (*resty.Response, error) {
	token, err := s.ts.Token(ctx)
	if err != nil {
		return nil, err // no token, no call: nothing was sent
	}
	ctx, end := s.startCall(ctx, method, path)
	resends := 0
	resp, err := s.exchange(ctx, method, path, query, body, decode, token, &resends)
	status := 0
	if resp != nil {
		status = resp.StatusCode()
	}
	var e *Error
	if errors.As(err, &e) {
		status = e.Status
	}
	end(status, resends, err)
	return resp, err
}

// exchange is do's work; resends counts the requests sent again.
func (s *Session) exchange(ctx context.Context, method, path string, query map[string]string, body any, decode func([]byte) error, token string, resends *int) (*resty.Response, error) {
	refreshed, waited := false, false
	for {
		resp, err := s.once(ctx, method, path, query, body, token)
		if resp != nil && resp.Request != nil {
			*resends += resp.Request.Attempt - 1 // resty's own retries of a read
		}
		if err != nil {
			return nil, err
		}
		status := resp.StatusCode()
		if status >= 200 && status < 300 {
			if decode != nil {
				if err := decode(resp.Body()); err != nil {
					// Typically an HTML login, SSO or maintenance page in front of the instance.
					return nil, &Error{Status: status, Message: "ServiceNow sent an answer snowbot cannot read", Detail: describeBody(resp), Unreadable: true}
				}
			}
			return resp, nil
		}
		e := parseError(resp)
		switch {
		case status == http.StatusUnauthorized && !refreshed:
			refreshed = true
			fresh, err := s.ts.Refresh(ctx, token)
			if err != nil {
				return nil, err
			}
			token = fresh
			*resends++
			continue
		case status == http.StatusTooManyRequests && !waited && e.RetryAfter > 0 && e.RetryAfter <= MaxWait:
			waited = true
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(e.RetryAfter):
			}
			*resends++
			continue
		}
		return nil, e
	}
}

func (s *Session) once(ctx context.Context, method, path string, query map[string]string, body any, token string) (*resty.Response, error) {
	client := s.c.reads
	if method != http.MethodGet {
		client = s.c.writes
	}
	req := client.R().SetContext(ctx).SetAuthToken(token).SetQueryParams(query)
	if body != nil {
		req.SetHeader("Content-Type", "application/json").SetBody(body)
	}
	resp, err := req.Execute(method, path)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, describeTransport(err))
	}
	return resp, nil
}

// describeBody says what an unreadable answer was, without quoting it.
func describeBody(resp *resty.Response) string {
	ct := resp.Header().Get("Content-Type")
	if ct == "" {
		ct = "no content type"
	}
	return fmt.Sprintf("%d bytes of %s instead of JSON", len(resp.Body()), ct)
}

// describeTransport keeps the query string (and so nothing a user typed) out of errors.
func describeTransport(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return "timed out"
		}
		return ue.Err.Error()
	}
	return err.Error()
}

// silent keeps resty from printing request URLs to stderr; failures reach the
// caller as errors and are logged there, in the bot's JSON log.
type silent struct{}

func (silent) Errorf(string, ...any) {}
func (silent) Warnf(string, ...any)  {}
func (silent) Debugf(string, ...any) {}
