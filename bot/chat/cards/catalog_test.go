package cards

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"snowbot/servicenow"
)

// A reference chosen before keeps its value when the form comes back, by
// its name when it is known and as "Your earlier choice" when it is not:
// a filtered choice set shows no value that is not among its choices.
func TestAFormKeepsAChosenReference(t *testing.T) {
	item := servicenow.CatalogItem{SysID: strings.Repeat("a", 32), Name: "Laptop", Variables: []servicenow.Variable{
		{Name: "used_by", Label: "Who will use it?", Type: servicenow.Reference, Reference: "sys_user"}}}
	id := strings.Repeat("b", 32)
	for values, want := range map[*map[string]string]string{
		{"used_by": id, "used_by" + NameSuffix: "Chloé Zhang"}: `"choices":[{"title":"Chloé Zhang","value":"` + id + `"}]`,
		{"used_by": id}: `"choices":[{"title":"Your earlier choice","value":"` + id + `"}]`,
	} {
		b, _ := json.Marshal(OrderForm(View{}, item, "f1", *values, "").JSON())
		if got := string(b); !strings.Contains(got, want) || !strings.Contains(got, `"value":"`+id+`"`) {
			t.Errorf("want %s in\n%s", want, got)
		}
	}
}

// The whole catalog shows a few items of each category, in ServiceNow's
// order, and says how many more a search finds.
func TestTheCatalogByCategoryShowsAFewOfEach(t *testing.T) {
	var items []servicenow.CatalogItem
	for i, c := range []string{"Hardware", "Software", "Hardware", "Hardware", "Hardware", ""} {
		items = append(items, servicenow.CatalogItem{SysID: fmt.Sprintf("%032d", i), Name: fmt.Sprintf("Item %d", i), Category: c})
	}
	c := CatalogByCategory(items, 3)
	want := "What the service catalog offers:\nHardware:\n- Item 0\n- Item 2\n- Item 3\n" +
		"  1 more in Hardware: type **catalog** and a few words to find one.\nSoftware:\n- Item 1\nOther:\n- Item 5\n"
	if c.Fallback != want {
		t.Errorf("the catalog reads\n%s\nwant\n%s", c.Fallback, want)
	}
	if body := string(mustJSON(t, c.JSON())); strings.Contains(body, "Item 4") || strings.Count(body, `"title":"Order"`) != 5 {
		t.Errorf("not three of Hardware:\n%s", body)
	}
}
