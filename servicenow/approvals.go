package servicenow

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"
)

// Approval states, as stored.
const (
	ApprovalRequested = "requested"
	ApprovalApproved  = "approved"
	ApprovalRejected  = "rejected"
)

// Approval is one person's approval of a record, with what the record is.
type Approval struct {
	SysID     string
	State     Value
	Approver  string    // the approver's name
	Created   time.Time // when it was asked for
	Updated   time.Time // when it was last changed (decided)
	UpdatedBy string    // user name of who changed it last
	Record    ApprovedRecord
}

// Requested reports whether the approval still waits for a decision.
func (a Approval) Requested() bool { return a.State.Value == ApprovalRequested }

// ApprovedRecord is the record an approval is for: a change, a requested
// item, a request or any other task.
type ApprovedRecord struct {
	SysID            string
	Number           string
	Table            Value // sys_class_name: its table and the table's label
	ShortDescription string
	OpenedBy         string    // who asked
	Opened           time.Time // and when
	// For a change request.
	Risk                     string
	PlannedStart, PlannedEnd time.Time
	// For a requested item.
	Item, RequestedFor string
}

// approvalFields are read with the approval, dot-walked into the record it
// is for, so that a list of approvals is one call.
var approvalFields = []string{"sys_id", "state", "approver", "sys_created_on", "sys_updated_on", "sys_updated_by",
	"sysapproval", "sysapproval.number", "sysapproval.sys_class_name", "sysapproval.short_description",
	"sysapproval.opened_by", "sysapproval.sys_created_on"}

func approvalFrom(r Record) Approval {
	return Approval{
		SysID:     r.Get("sys_id").Value,
		State:     r.Get("state"),
		Approver:  r.Get("approver").Display,
		Created:   r.Time("sys_created_on"),
		Updated:   r.Time("sys_updated_on"),
		UpdatedBy: r.Get("sys_updated_by").Display,
		Record: ApprovedRecord{
			SysID:            r.Get("sysapproval").Value,
			Number:           r.Get("sysapproval.number").Display,
			Table:            r.Get("sysapproval.sys_class_name"),
			ShortDescription: r.Get("sysapproval.short_description").Display,
			OpenedBy:         r.Get("sysapproval.opened_by").Display,
			Opened:           r.Time("sysapproval.sys_created_on"),
		},
	}
}

// MyPendingApprovals lists the approvals waiting for the signed-in user, newest
// first, at most limit, with the total count. The records' own details (a
// change's risk and window, a requested item's item and recipient) come in one
// batched read per kind of record, never one call per approval.
func (s *Session) MyPendingApprovals(ctx context.Context, limit int) ([]Approval, int, error) {
	q := NewQuery().IsCurrentUser("approver").Eq("state", ApprovalRequested).OrderByDesc("sys_created_on")
	list, total, err := s.approvals(ctx, q, limit)
	if err != nil {
		return nil, 0, err
	}
	return list, total, s.addDetails(ctx, list)
}

// PendingApprovalsFor lists the signed-in user's pending approvals of the
// record with this number, oldest first.
func (s *Session) PendingApprovalsFor(ctx context.Context, number string) ([]Approval, error) {
	n, ok := ParseRecordNumber(number)
	if !ok {
		return nil, ErrInvalidNumber
	}
	q := NewQuery().IsCurrentUser("approver").Eq("state", ApprovalRequested).Eq("sysapproval.number", n).OrderBy("sys_created_on")
	list, _, err := s.approvals(ctx, q, 10)
	return list, err
}

// ApprovalByID reads one approval, whatever its state, with its record's details.
func (s *Session) ApprovalByID(ctx context.Context, sysID string) (Approval, error) {
	r, err := s.Get(ctx, "sysapproval_approver", sysID, Params{Fields: approvalFields, DisplayValue: "all"})
	if err != nil {
		return Approval{}, err
	}
	list := []Approval{approvalFrom(r)}
	return list[0], s.addDetails(ctx, list)
}

// Decide approves or rejects an approval with an optional comment, as the
// signed-in user, and returns it as it is now.
func (s *Session) Decide(ctx context.Context, sysID string, approve bool, comment string) (Approval, error) {
	fields := map[string]string{"state": ApprovalRejected}
	if approve {
		fields["state"] = ApprovalApproved
	}
	if strings.TrimSpace(comment) != "" {
		fields["comments"] = comment
	}
	r, err := s.Update(ctx, "sysapproval_approver", sysID, fields, Params{Fields: approvalFields, DisplayValue: "all"})
	if err != nil {
		return Approval{}, err
	}
	return approvalFrom(r), nil
}

func (s *Session) approvals(ctx context.Context, q *Query, limit int) ([]Approval, int, error) {
	recs, total, err := s.List(ctx, "sysapproval_approver", q, Params{Fields: approvalFields, Limit: limit, DisplayValue: "all"})
	if err != nil {
		return nil, 0, err
	}
	out := make([]Approval, 0, len(recs))
	for _, r := range recs {
		out = append(out, approvalFrom(r))
	}
	return out, total, nil
}

// addDetails reads what each kind of record adds, in one call per kind.
func (s *Session) addDetails(ctx context.Context, list []Approval) error {
	byTable := map[string][]int{}
	for i, a := range list {
		if ValidSysID(a.Record.SysID) {
			byTable[a.Record.Table.Value] = append(byTable[a.Record.Table.Value], i)
		}
	}
	kinds := []struct {
		table  string
		fields []string
		set    func(a *ApprovedRecord, r Record)
	}{
		{"change_request", []string{"sys_id", "risk", "start_date", "end_date"}, func(a *ApprovedRecord, r Record) {
			a.Risk, a.PlannedStart, a.PlannedEnd = r.Get("risk").Display, r.Time("start_date"), r.Time("end_date")
		}},
		{"sc_req_item", []string{"sys_id", "cat_item", "requested_for"}, func(a *ApprovedRecord, r Record) {
			a.Item, a.RequestedFor = r.Get("cat_item").Display, r.Get("requested_for").Display
		}},
	}
	for _, k := range kinds {
		idx := byTable[k.table]
		if len(idx) == 0 {
			continue
		}
		ids := make([]string, 0, len(idx))
		for _, i := range idx {
			ids = append(ids, list[i].Record.SysID)
		}
		recs, _, err := s.List(ctx, k.table, NewQuery().In("sys_id", ids...), Params{Fields: k.fields, Limit: len(ids), DisplayValue: "all"})
		if errors.Is(err, ErrForbidden) || errors.Is(err, ErrNotFound) {
			continue // the approval is still shown, without what this person may not read
		}
		if err != nil {
			return err
		}
		for _, r := range recs {
			for _, i := range idx {
				if list[i].Record.SysID == r.Get("sys_id").Value {
					k.set(&list[i].Record, r)
				}
			}
		}
	}
	return nil
}

var recordNumber = regexp.MustCompile(`^(?i)[A-Z]{2,10}[0-9]{1,20}$`)

// ParseRecordNumber validates a record number (letters, then digits: CHG0030001,
// RITM0010001) and returns it in upper case.
func ParseRecordNumber(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if !recordNumber.MatchString(s) {
		return "", false
	}
	return strings.ToUpper(s), true
}
