package consulapi

import (
	"strconv"
	"time"

	"github.com/hashicorp/go-bexpr"

	"github.com/vertice/vertice/domain/catalog"
)

// Filters are Consul's: ?filter= is a go-bexpr expression (the library
// Consul itself evaluates them with) over each entry of the answer, with
// the same selectors, since the entries have Consul's field names. A
// filter Vértice cannot evaluate is a 400, never ignored: ignoring it
// would widen the answer.

// MaxFilterLen bounds a filter expression.
const MaxFilterLen = 4096

type filter struct {
	eval *bexpr.Evaluator
}

// parseFilter parses expr; a syntax error is a 400 that quotes the
// parser.
func parseFilter(expr string) (*filter, error) {
	if len(expr) > MaxFilterLen {
		return nil, badRequest{"filter: must be at most " + strconv.Itoa(MaxFilterLen) + " bytes"}
	}
	eval, err := bexpr.CreateEvaluator(expr)
	if err != nil {
		return nil, badRequest{"filter: " + strconv.Quote(expr) + " is not a valid expression: " + err.Error()}
	}
	return &filter{eval: eval}, nil
}

// check evaluates the filter on an entry of the kind it will see, so a
// selector naming a field the entries lack (Service.Kind, Node.Partition)
// is a 400 even when the answer would be empty.
func (f *filter) check(sample any) error {
	if f == nil {
		return nil
	}
	if _, err := f.eval.Evaluate(sample); err != nil {
		return badRequest{"filter: " + strconv.Quote(f.eval.Expression()) + " cannot be evaluated on these entries: " + err.Error()}
	}
	return nil
}

// match says whether an entry passes; a nil filter passes everything.
func (f *filter) match(entry any) (bool, error) {
	if f == nil {
		return true, nil
	}
	ok, err := f.eval.Evaluate(entry)
	if err != nil {
		return false, badRequest{"filter: " + strconv.Quote(f.eval.Expression()) + " cannot be evaluated: " + err.Error()}
	}
	return ok, nil
}

// sample is an instance with a field of every kind filled, for check.
var sample = newView(catalog.Instance{
	Registration: catalog.Registration{ServiceName: "sample", InstanceID: "sample-1", Endpoint: "http://10.0.0.1:80",
		Metadata: map[string]string{"version": "1"}, Tags: []string{"t"}},
	TTL: time.Minute,
}, 1, "dc1")
