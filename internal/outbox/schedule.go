package outbox

import (
	"errors"
	"time"
)

// Day is 24 hours (schedules count in elapsed time, not calendar days).
const Day = 24 * time.Hour

// Schedule lists when the attempts of a webhook delivery happen, as offsets
// from the first attempt: element 0 is 0 (the first attempt, made as soon as
// the event is emitted) and the offsets strictly increase. After an attempt
// that is not acknowledged, the next attempt is at the first offset later
// than the time elapsed since the first attempt (so a worker that was down
// skips the missed slots instead of firing them all at once). When no
// offset is left, the delivery is failed.
type Schedule []time.Duration

// DefaultSchedule is the card gateway's notification schedule — "Initially,
// the retries are every minute and then every day and then every week", "for
// as long as a month" — as 21 attempts:
//
//	first attempt           0
//	every minute            1m, 2m, … 10m        (10 retries)
//	every day               1d, 2d, … 7d         (7 retries)
//	every week              14d, 21d, 28d        (3 retries)
//
// If the attempt at day 28 is not acknowledged either, the delivery is
// failed: no attempt is ever made 30 days or more after the first one.
func DefaultSchedule() Schedule {
	s := Schedule{0}
	for m := 1; m <= 10; m++ {
		s = append(s, time.Duration(m)*time.Minute)
	}
	for d := 1; d <= 7; d++ {
		s = append(s, time.Duration(d)*Day)
	}
	for w := 2; w <= 4; w++ {
		s = append(s, time.Duration(w)*7*Day)
	}
	return s
}

// Validate checks the schedule's shape.
func (s Schedule) Validate() error {
	if len(s) == 0 || s[0] != 0 {
		return errors.New("outbox: a webhook schedule starts with offset 0 (the first attempt)")
	}
	for i := 1; i < len(s); i++ {
		if s[i] <= s[i-1] {
			return errors.New("outbox: webhook schedule offsets must strictly increase")
		}
	}
	return nil
}

// Next returns the offset of the attempt after one made elapsed after the
// first attempt, and false when the schedule is exhausted.
func (s Schedule) Next(elapsed time.Duration) (time.Duration, bool) {
	for _, off := range s {
		if off > elapsed {
			return off, true
		}
	}
	return 0, false
}
