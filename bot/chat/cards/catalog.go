package cards

// The service catalog's cards: items to order, an item's variables as a
// form, the order made, and a person's open requests.

import (
	"fmt"
	"strings"

	"snowbot/servicenow"
)

// Actions of the catalog's cards.
const (
	ActionOrder    = "order"    // an item's Order button: its form
	ActionOrderNow = "orderNow" // the form's Order button: order it
)

// orderData is what an item's Order button sends.
type orderData struct {
	Action string `json:"action"`
	Item   string `json:"item"`
}

// CatalogItems lists items to order, each with an Order button.
func CatalogItems(items []servicenow.CatalogItem, words string) Card {
	heading := "Catalog items matching “" + Plain(words) + "”"
	body := []Element{Title(heading)}
	var fb strings.Builder
	fb.WriteString(heading + ":\n")
	for _, it := range items {
		e, line := catalogEntry(it, Plain(it.Category))
		body = append(body, e)
		fb.WriteString(line)
	}
	body = append(body, Subtle("Press **Order** to fill in what the item asks for."))
	return Card{Body: body, Fallback: fb.String()}
}

// CatalogByCategory shows what the catalog offers: under each category, in
// the order ServiceNow gives them, its first perCategory items, and how many
// more a search finds.
func CatalogByCategory(items []servicenow.CatalogItem, perCategory int) Card {
	const heading = "What the service catalog offers"
	var order []string
	byCategory := map[string][]servicenow.CatalogItem{}
	for _, it := range items {
		c := strings.TrimSpace(it.Category)
		if c == "" {
			c = "Other"
		}
		if _, seen := byCategory[c]; !seen {
			order = append(order, c)
		}
		byCategory[c] = append(byCategory[c], it)
	}
	body := []Element{Title(heading)}
	var fb strings.Builder
	fb.WriteString(heading + ":\n")
	for _, c := range order {
		list := byCategory[c]
		body = append(body, Element{Type: "TextBlock", Wrap: true, Size: "Medium", Weight: "Bolder", Separator: true, Text: Plain(c)})
		fb.WriteString(Plain(c) + ":\n")
		for _, it := range list[:min(len(list), perCategory)] {
			e, line := catalogEntry(it, "")
			body = append(body, e)
			fb.WriteString(line)
		}
		if more := len(list) - perCategory; more > 0 {
			m := fmt.Sprintf("%d more in %s: type **catalog** and a few words to find one.", more, Plain(c))
			body = append(body, Subtle(m))
			fb.WriteString("  " + m + "\n")
		}
	}
	body = append(body, Subtle("Press **Order** to fill in what the item asks for."))
	return Card{Body: body, Fallback: fb.String()}
}

// catalogEntry is one item with its Order button, under what, and its line
// in the fallback text.
func catalogEntry(it servicenow.CatalogItem, what string) (Element, string) {
	name, line := Plain(it.Name), what
	if about := Plain(Clip(it.ShortDescription, maxShort)); about != "" {
		line = strings.TrimPrefix(line+" · "+about, " · ")
	}
	items := []Element{{Type: "TextBlock", Wrap: true, Weight: "Bolder", Text: name}}
	if line != "" {
		items = append(items, Subtle(line))
	}
	items = append(items, ActionSet(Submit("Order", orderData{Action: ActionOrder, Item: it.SysID})))
	return Element{Type: "Container", Separator: true, Items: items}, strings.TrimSuffix("- "+name+": "+line, ": ") + "\n"
}

// Form marks: a variable's input is its name behind inputPrefix (so that it
// never meets the data's own keys); a date and time's time is behind
// timeSuffix. In a form's values, a reference's shown name is behind
// NameSuffix, beside its sys_id.
const (
	inputPrefix = "v_"
	timeSuffix  = "@time"
	NameSuffix  = "@name"
)

// Orderable reports whether every mandatory variable of the item can be
// asked for in a card; the first that cannot is named.
func Orderable(item servicenow.CatalogItem) (bool, string) {
	for _, v := range item.Variables {
		if v.Mandatory && !v.ReadOnly && !askable[v.Type] {
			return false, v.Label
		}
	}
	return true, ""
}

// askable are the types a form asks for; shown are the ones it shows as text.
var (
	askable = map[servicenow.VariableType]bool{servicenow.SingleLineText: true, servicenow.MultiLineText: true,
		servicenow.SelectBox: true, servicenow.MultipleChoice: true, servicenow.CheckBox: true, servicenow.YesNo: true,
		servicenow.Date: true, servicenow.DateTime: true, servicenow.Reference: true}
	shown = map[servicenow.VariableType]bool{servicenow.Label: true, servicenow.RichTextLabel: true, servicenow.ContainerStart: true}
)

// OrderForm asks for an item's variables, in order: values are what to show
// in them (typed before, or the item's defaults when nil); note says why the
// form came back.
func OrderForm(v View, item servicenow.CatalogItem, form string, values map[string]string, note string) Card {
	if values == nil {
		values = Defaults(item)
	}
	body := append([]Element{Title("Order: " + Plain(item.Name))}, formNote(note)...)
	if about := Plain(item.ShortDescription); about != "" {
		body = append(body, Para(about))
	}
	for _, va := range item.Variables {
		body = append(body, variableInputs(va, values)...)
	}
	actions := []Element{Submit("Order", map[string]any{"action": ActionOrderNow, "item": item.SysID, "form": form})}
	if link := v.Links.CatalogItem(item.SysID); link != "" {
		actions = append(actions, OpenURL("Open in ServiceNow", link))
	}
	return Card{Body: body, Actions: actions, Fallback: "Order " + Plain(item.Name) + ": open this message in Teams to fill in the form."}
}

// variableInputs are the elements that ask for one variable.
func variableInputs(va servicenow.Variable, values map[string]string) []Element {
	label := Plain(va.Label)
	if va.ReadOnly || shown[va.Type] || !askable[va.Type] {
		switch {
		case va.Type == servicenow.ContainerStart && label != "":
			return []Element{Heading(label)}
		case shown[va.Type] && label != "":
			return []Element{Para(label)}
		case va.ReadOnly && askable[va.Type] && label != "":
			return []Element{Facts(Fact{label, plainOrDash(va.DisplayValue)})}
		}
		return nil // a type no card can ask for, and not mandatory
	}
	id := inputPrefix + va.Name
	in := &Input{Label: label, IsRequired: va.Mandatory, Value: values[va.Name]}
	if va.Mandatory {
		in.ErrorMessage = label + " is needed."
	}
	e := Element{ID: id, Input: in}
	out := []Element{}
	switch va.Type {
	case servicenow.SingleLineText:
		e.Type = "Input.Text"
	case servicenow.MultiLineText:
		e.Type, in.IsMultiline = "Input.Text", true
	case servicenow.SelectBox, servicenow.MultipleChoice:
		e.Type, in.Style = "Input.ChoiceSet", "compact"
		if va.Type == servicenow.MultipleChoice {
			in.Style = "expanded"
		}
		for _, c := range va.Choices {
			in.Choices = append(in.Choices, Choice{Title: Plain(c.Label), Value: c.Value})
		}
	case servicenow.YesNo:
		e.Type, in.Style = "Input.ChoiceSet", "expanded"
		in.Choices = []Choice{{Title: "Yes", Value: "Yes"}, {Title: "No", Value: "No"}}
	case servicenow.CheckBox:
		e = Toggle(id, label, values[va.Name] == "true")
		e.Input.IsRequired, e.Input.ErrorMessage = va.Mandatory, in.ErrorMessage
	case servicenow.Date:
		e.Type = "Input.Date"
	case servicenow.DateTime:
		date, clock, _ := strings.Cut(values[va.Name], " ")
		e.Type, in.Value = "Input.Date", date
		out = append(out, e, Element{Type: "Input.Time", ID: id + timeSuffix, Input: &Input{Label: label + " (time)",
			IsRequired: va.Mandatory, ErrorMessage: in.ErrorMessage, Value: hhmm(clock)}})
		return withHelp(out, va)
	case servicenow.Reference:
		e.Type, in.Style, in.Placeholder = "Input.ChoiceSet", "filtered", "Type a few letters of a name"
		in.Data = &DataQuery{Type: "Data.Query", Dataset: ReferenceDataset(va.Reference)}
		if id := values[va.Name]; id != "" {
			// A filtered choice set shows a value only among its choices: keep
			// the one chosen, by its name when it is known.
			shownName := Plain(values[va.Name+NameSuffix])
			if shownName == "" {
				shownName = "Your earlier choice"
			}
			in.Choices = []Choice{{Title: shownName, Value: id}}
		}
	}
	return withHelp(append(out, e), va)
}

func withHelp(out []Element, va servicenow.Variable) []Element {
	if help := Plain(va.HelpText); help != "" {
		out = append(out, Subtle(help))
	}
	return out
}

// hhmm is the hours and minutes of a clock time ("14:30:00" → "14:30").
func hhmm(clock string) string {
	if len(clock) >= 5 {
		return clock[:5]
	}
	return clock
}

// ReferenceDataset names, in a typeahead's query, the table its choices come
// from; ReferenceTable reads it back.
func ReferenceDataset(table string) string { return "reference:" + table }

// ReferenceTable is the table a typeahead's dataset names.
func ReferenceTable(dataset string) (string, bool) {
	return strings.CutPrefix(dataset, "reference:")
}

// Defaults are an item's default values, as a form shows them (a reference's
// shown name kept beside its sys_id).
func Defaults(item servicenow.CatalogItem) map[string]string {
	values := map[string]string{}
	for _, va := range item.Variables {
		if va.Value == "" {
			continue
		}
		values[va.Name] = va.Value
		if va.Type == servicenow.Reference {
			values[va.Name+NameSuffix] = va.DisplayValue
		}
	}
	return values
}

// Typed reads what a submitted form holds (its inputs, as Teams sends them)
// into the item's variables: values as ServiceNow takes them, a date and
// time joined, what was left empty left out; missing names the mandatory
// variables left empty.
func Typed(item servicenow.CatalogItem, sent map[string]any) (values map[string]string, missing []string) {
	values = map[string]string{}
	str := func(k string) string { s, _ := sent[k].(string); return strings.TrimSpace(s) }
	for _, va := range item.Variables {
		if va.ReadOnly || !askable[va.Type] {
			continue
		}
		v := str(inputPrefix + va.Name)
		if va.Type == servicenow.DateTime && v != "" {
			clock := str(inputPrefix + va.Name + timeSuffix)
			if clock == "" {
				clock = "00:00"
			}
			v += " " + hhmm(clock) + ":00"
		}
		if v != "" {
			values[va.Name] = v
		}
		if va.Mandatory && (v == "" || (va.Type == servicenow.CheckBox && v != "true")) {
			missing = append(missing, va.Label)
		}
	}
	return values, missing
}

// OrderInServiceNow is an item the bot cannot ask for: it names what the
// item needs and links to its page in ServiceNow.
func OrderInServiceNow(v View, item servicenow.CatalogItem, needs string) Card {
	name := Plain(item.Name)
	text := fmt.Sprintf("%s needs “%s”, which I cannot ask for here. Order it in ServiceNow instead.", name, Plain(needs))
	link := v.Links.CatalogItem(item.SysID)
	c := Card{Body: []Element{Title("Order: " + name), Para(text)}, Fallback: text + " " + link}
	if link != "" {
		c.Actions = []Element{OpenURL("Order in ServiceNow", link)}
	}
	return c
}

// Ordered is an order made: the request, its requested items and their stage.
func Ordered(v View, item servicenow.CatalogItem, o servicenow.Order) Card {
	name := Plain(item.Name)
	facts := []Fact{{"Request", Plain(o.Request)}}
	fb := fmt.Sprintf("Ordered %s: request %s", name, Plain(o.Request))
	var actions []Element
	for _, it := range o.Items {
		facts = append(facts, Fact{"Requested item", Plain(it.Number)})
		fb += ", requested item " + Plain(it.Number)
		for _, f := range it.Fields {
			if f.Name == "stage" && f.Value != "" {
				facts = append(facts, Fact{"Stage", Plain(f.Value)})
				fb += " (" + Plain(f.Value) + ")"
			}
		}
		if link := v.Links.Record("sc_req_item", it.SysID); link != "" && len(actions) == 0 {
			actions = append(actions, OpenURL("Open in ServiceNow", link))
		}
	}
	return Card{Body: []Element{
		{Type: "TextBlock", Text: "Ordered: " + name, Size: "Large", Weight: "Bolder", Wrap: true, Color: "Good"},
		Facts(facts...),
		Subtle("Type **requests** to see where your requests stand."),
	}, Actions: actions, Fallback: fb + "."}
}

// Requests lists a person's open requested items; total counts them all.
func Requests(v View, list []servicenow.TaskRecord, total int) Card {
	body := []Element{Title("Your open requests")}
	var fb strings.Builder
	fb.WriteString("Your open requests:\n")
	for _, r := range list {
		number, item, stage := Plain(r.Number), Plain(r.ShortDescription), ""
		for _, f := range r.Fields {
			switch f.Name {
			case "cat_item":
				if f.Value != "" {
					item = Plain(f.Value)
				}
			case "stage":
				stage = Plain(f.Value)
			}
		}
		line := strings.Join(nonEmpty(stage, label(r.State), "updated "+Ago(r.Updated, v.now())), " · ")
		head := number
		if link := v.Links.Record("sc_req_item", r.SysID); link != "" {
			head = "[" + number + "](" + link + ")"
		}
		body = append(body, Element{Type: "Container", Separator: true, Items: []Element{
			{Type: "TextBlock", Wrap: true, Weight: "Bolder", Text: head + " · " + item},
			Subtle(line),
		}})
		fb.WriteString("- " + number + " " + item + " (" + line + ")\n")
	}
	if more := total - len(list); more > 0 {
		body = append(body, Subtle(fmt.Sprintf("…and %d more.", more)))
		fmt.Fprintf(&fb, "…and %d more.\n", more)
	}
	return Card{Body: body, Actions: []Element{OpenURL("All my requests in ServiceNow", v.Links.MyOpenRequests())}, Fallback: fb.String()}
}

func nonEmpty(list ...string) []string {
	out := list[:0]
	for _, s := range list {
		if s != "" && s != "—" {
			out = append(out, s)
		}
	}
	return out
}
