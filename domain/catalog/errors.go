package catalog

import "fmt"

// FieldError says which input field is wrong and which rule it broke. The
// HTTP adapter turns it into a 400 whose detail is Error().
type FieldError struct {
	Field string
	Rule  string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Rule) }
