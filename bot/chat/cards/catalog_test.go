package cards

import (
	"encoding/json"
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
