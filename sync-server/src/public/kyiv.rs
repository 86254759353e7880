//! Kyiv time for the applicants' pages: the server keeps Unix seconds (UTC), an applicant reads
//! the date and time on their own clock. Ukraine keeps Eastern European Time, UTC+2, and summer
//! time, UTC+3, from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of
//! October (the EU's rule, which Ukraine follows). No time-zone database is needed for one zone
//! with one rule; if the rule changes, it changes here.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

/// The last Sunday of `month` in `year`, at 01:00 UTC.
fn last_sunday_0100_utc(year: i32, month: Month) -> Option<OffsetDateTime> {
    let last =
        Date::from_calendar_date(year, month, time::util::days_in_month(month, year)).ok()?;
    let back = i64::from(last.weekday().number_days_from_sunday());
    let sunday = last.checked_sub(time::Duration::days(back))?;
    debug_assert_eq!(sunday.weekday(), Weekday::Sunday);
    Some(PrimitiveDateTime::new(sunday, Time::from_hms(1, 0, 0).ok()?).assume_utc())
}

/// Kyiv's offset from UTC at instant `utc`.
fn offset_at(utc: OffsetDateTime) -> UtcOffset {
    let year = utc.year();
    let summer = match (
        last_sunday_0100_utc(year, Month::March),
        last_sunday_0100_utc(year, Month::October),
    ) {
        (Some(start), Some(end)) => utc >= start && utc < end,
        _ => false,
    };
    let hours = if summer { 3 } else { 2 };
    UtcOffset::from_hms(hours, 0, 0).unwrap_or(UtcOffset::UTC)
}

/// Unix seconds as Kyiv's local date and time (`None` out of range).
pub fn local(at: i64) -> Option<OffsetDateTime> {
    let utc = OffsetDateTime::from_unix_timestamp(at).ok()?;
    Some(utc.to_offset(offset_at(utc)))
}

/// Kyiv's date at `at` (the day deadlines count from).
pub fn date(at: i64) -> Date {
    local(at).map_or(Date::MIN, |t| t.date())
}

/// A date as people here write it: 05.11.2026.
pub fn date_text(date: Date) -> String {
    date.format(time::macros::format_description!("[day].[month].[year]"))
        .unwrap_or_default()
}

/// A moment as people here read it, in Kyiv time: 05.11.2026 14:05.
pub fn when(at: i64) -> String {
    local(at)
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[day].[month].[year] [hour]:[minute]"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// The time of day in Kyiv: 14:05.
pub fn clock(at: i64) -> String {
    local(at)
        .and_then(|t| {
            t.format(time::macros::format_description!("[hour]:[minute]"))
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .unwrap()
            .unix_timestamp()
    }

    #[test]
    fn winter_is_utc_plus_two_and_summer_plus_three_switching_at_one_utc() {
        assert_eq!(when(at("2026-01-15T10:00:00Z")), "15.01.2026 12:00");
        assert_eq!(when(at("2026-07-15T10:00:00Z")), "15.07.2026 13:00");
        // 2026: summer time from Sunday 29 March, 01:00 UTC, to Sunday 25 October, 01:00 UTC.
        assert_eq!(when(at("2026-03-29T00:59:00Z")), "29.03.2026 02:59");
        assert_eq!(when(at("2026-03-29T01:00:00Z")), "29.03.2026 04:00");
        assert_eq!(when(at("2026-10-25T00:59:00Z")), "25.10.2026 03:59");
        assert_eq!(when(at("2026-10-25T01:00:00Z")), "25.10.2026 03:00");
    }

    #[test]
    fn the_kyiv_date_turns_before_the_utc_date() {
        let late_evening_utc = at("2026-11-05T22:30:00Z");
        assert_eq!(date_text(date(late_evening_utc)), "06.11.2026");
        assert_eq!(clock(late_evening_utc), "00:30");
    }
}
