package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

// The update set a ServiceNow administrator imports (deploy/servicenow) is
// built from its sources in deploy/servicenow/src: the script include and the
// business rules. This test keeps the two in step; after changing a source,
// run: go test -run TestServiceNowUpdateSetIsCurrent -update-servicenow
var updateServiceNow = flag.Bool("update-servicenow", false, "rewrite deploy/servicenow/snowbot-update-set.xml from its sources")

const updateSetPath = "deploy/servicenow/snowbot-update-set.xml"

func TestServiceNowUpdateSetIsCurrent(t *testing.T) {
	built, err := buildUpdateSet("deploy/servicenow/src")
	if err != nil {
		t.Fatal(err)
	}
	if *updateServiceNow {
		if err := os.WriteFile(updateSetPath, built, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shipped, err := os.ReadFile(updateSetPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shipped, built) {
		t.Fatalf("%s is not built from deploy/servicenow/src: run go test -run TestServiceNowUpdateSetIsCurrent -update-servicenow", updateSetPath)
	}
	// It is well-formed XML, and so is every record inside it.
	var unload struct {
		Updates []struct {
			Name    string `xml:"name"`
			Payload string `xml:"payload"`
		} `xml:"sys_update_xml"`
	}
	if err := xml.Unmarshal(shipped, &unload); err != nil {
		t.Fatal(err)
	}
	if len(unload.Updates) != 9 {
		t.Errorf("%d records, want the script include, two properties and six business rules", len(unload.Updates))
	}
	for _, u := range unload.Updates {
		var rec struct{}
		if err := xml.Unmarshal([]byte(u.Payload), &rec); err != nil {
			t.Errorf("%s: %v", u.Name, err)
		}
	}
}

// rule is one business rule as deploy/servicenow/src/business-rules.json has it.
type rule struct {
	Name        string `json:"name"`
	Table       string `json:"table"`
	Insert      bool   `json:"insert"`
	Update      bool   `json:"update"`
	When        string `json:"when"` // after, or async when the script needs no changes()
	Condition   string `json:"condition"`
	Description string `json:"description"`
	Script      string `json:"script"`
}

// record is one record of the update set: its table, sys_id, name and fields in order.
type record struct {
	table, sysID, name, kind, target string
	fields                           [][2]string
}

// stableID is a sys_id that stays the same from one build to the next, so a
// second import updates the records of the first.
func stableID(what string) string {
	h := sha256.Sum256([]byte("snowbot update set\x00" + what))
	return hex.EncodeToString(h[:16])
}

func buildUpdateSet(dir string) ([]byte, error) {
	include, err := os.ReadFile(dir + "/SnowbotEvents.js")
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(dir + "/business-rules.json")
	if err != nil {
		return nil, err
	}
	var rules []rule
	if err := json.Unmarshal(raw, &rules); err != nil {
		return nil, fmt.Errorf("business-rules.json: %w", err)
	}
	const setName = "snowbot notifications"
	setID := stableID("update set")
	var records []record
	id := stableID("script include SnowbotEvents")
	records = append(records, record{table: "sys_script_include", sysID: id, name: "SnowbotEvents", kind: "Script Include", target: "SnowbotEvents", fields: [][2]string{
		{"access", "package_private"}, {"active", "true"}, {"api_name", "global.SnowbotEvents"}, {"client_callable", "false"},
		{"description", "Signs and sends change events to snowbot (Microsoft Teams notifications)."},
		{"name", "SnowbotEvents"}, {"script", string(include)}, {"sys_class_name", "sys_script_include"}, {"sys_id", id},
		{"sys_name", "SnowbotEvents"}, {"sys_update_name", "sys_script_include_" + id},
	}})
	for _, p := range []struct{ name, kind, description string }{
		{"snowbot.events_url", "string", "Where snowbot takes change events: https://<your bot>/api/servicenow/events"},
		{"snowbot.webhook_secret", "password2", "The secret that signs change events: the same value as the bot's SERVICENOW_WEBHOOK_SECRET (at least 32 characters; openssl rand -hex 32)"},
	} {
		id := stableID("property " + p.name)
		records = append(records, record{table: "sys_properties", sysID: id, name: p.name, kind: "System Property", target: p.name, fields: [][2]string{
			// Not private: an import skips private properties. The admin ticks
			// Private once the secret is set (deploy/README.md).
			{"description", p.description}, {"ignore_cache", "false"}, {"is_private", "false"}, {"name", p.name},
			{"read_roles", "admin"}, {"suffix", "snowbot"}, {"sys_class_name", "sys_properties"}, {"sys_id", id},
			{"sys_name", p.name}, {"sys_update_name", "sys_properties_" + id}, {"type", p.kind}, {"value", ""}, {"write_roles", "admin"},
		}})
	}
	for _, r := range rules {
		if r.When != "after" && r.When != "async" {
			return nil, fmt.Errorf("business-rules.json: %s runs %q: after or async", r.Name, r.When)
		}
		id := stableID("business rule " + r.Name)
		script := "(function executeRule(current, previous /*null when async*/) {\n    " +
			strings.ReplaceAll(r.Script, "\n", "\n    ") + "\n})(current, previous);\n"
		records = append(records, record{table: "sys_script", sysID: id, name: r.Name, kind: "Business Rule", target: r.Name, fields: [][2]string{
			{"abort_action", "false"}, {"access", "package_private"}, {"action_delete", "false"},
			{"action_insert", fmt.Sprint(r.Insert)}, {"action_query", "false"}, {"action_update", fmt.Sprint(r.Update)},
			{"active", "true"}, {"advanced", "true"}, {"collection", r.Table}, {"condition", r.Condition},
			{"description", r.Description}, {"filter_condition", ""}, {"name", r.Name}, {"order", "100"}, {"priority", "100"},
			{"script", script}, {"sys_class_name", "sys_script"}, {"sys_id", id}, {"sys_name", r.Name},
			{"sys_update_name", "sys_script_" + id}, {"when", r.When},
		}})
	}

	var b bytes.Buffer
	// Escaped as ServiceNow's exports are: markup characters only, line breaks kept.
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<unload unload_date="2026-11-25 00:00:00">` + "\n")
	b.WriteString(`<sys_remote_update_set action="INSERT_OR_UPDATE">` + "\n")
	for _, f := range [][2]string{
		{"application_name", "Global"}, {"application_scope", "global"},
		{"description", "snowbot: signed change events from incidents, changes, problems, requested items, catalog tasks and approvals, so that people and channels hear of them in Microsoft Teams. See deploy/README.md."},
		{"name", setName}, {"remote_sys_id", setID}, {"state", "loaded"}, {"sys_class_name", "sys_remote_update_set"}, {"sys_id", setID},
	} {
		fmt.Fprintf(&b, "<%s>%s</%s>\n", f[0], esc(f[1]), f[0])
	}
	b.WriteString("</sys_remote_update_set>\n")
	for _, r := range records {
		var payload bytes.Buffer
		fmt.Fprintf(&payload, `<?xml version="1.0" encoding="UTF-8"?><record_update table="%s"><%s action="INSERT_OR_UPDATE">`, r.table, r.table)
		for _, f := range r.fields {
			if f[0] == "collection" || f[0] == "filter_condition" {
				fmt.Fprintf(&payload, `<%s table="%s">%s</%s>`, f[0], esc(r.fieldValue("collection")), esc(f[1]), f[0])
				continue
			}
			fmt.Fprintf(&payload, "<%s>%s</%s>", f[0], esc(f[1]), f[0])
		}
		fmt.Fprintf(&payload, "</%s></record_update>", r.table)
		b.WriteString(`<sys_update_xml action="INSERT_OR_UPDATE">` + "\n")
		for _, f := range [][2]string{
			{"action", "INSERT_OR_UPDATE"}, {"application", "global"}, {"category", "customer"},
			{"name", r.table + "_" + r.sysID}, {"payload", payload.String()}, {"remote_update_set", setID},
			{"replace_on_upgrade", "false"}, {"sys_id", stableID("update " + r.table + " " + r.name)},
			{"table", r.fieldValue("collection")}, {"target_name", r.target}, {"type", r.kind}, {"update_domain", "global"},
		} {
			fmt.Fprintf(&b, "<%s>%s</%s>\n", f[0], esc(f[1]), f[0])
		}
		b.WriteString("</sys_update_xml>\n")
	}
	b.WriteString("</unload>\n")
	return b.Bytes(), nil
}

func (r record) fieldValue(name string) string {
	for _, f := range r.fields {
		if f[0] == name {
			return f[1]
		}
	}
	return ""
}
