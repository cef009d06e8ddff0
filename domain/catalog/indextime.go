package catalog

import "time"

// IndexTime reads when the change an index was taken for happened: the
// index is that time in Unix microseconds (NextIndex), unless changes came
// faster than one a microsecond or the writer's clock went back, so it is
// at most a little late. ok is false for an index that cannot be such a
// time (before 2017, or past 2^53): one from a store older than the rule.
func IndexTime(index uint64) (t time.Time, ok bool) {
	const earliest = 1_483_228_800_000_000 // 2017-01-01 in Unix microseconds
	if index < earliest || index > 1<<53 {
		return time.Time{}, false
	}
	return time.UnixMicro(int64(index)), true
}
