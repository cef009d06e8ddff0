package mirror

// Held is how many services the copy holds anything for (view.Table.Len).
func (m *Mirror) Held() int { return m.table.Len() }
