//! Working days and deadlines. The calendar is data (weekends, public holidays, days moved by
//! the Cabinet, martial-law periods), loaded from `assets/calendar/*.toml`, never a list in code.
//!
//! Rules (Law "Про адміністративну процедуру", Art. 42; regulation 7.1; Law 2136-IX, Art. 6):
//! a term starts the day after the event; a term of fewer than 10 days counts working days, of
//! 10 or more calendar days, unless the information card says otherwise; a calendar-day term
//! that ends on a day off ends on the next working day; a case is forwarded to the provider no
//! later than the next working day after registration; under martial law public holidays and
//! days moved by the Cabinet do not apply (they are ordinary working days or weekends).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month, Weekday};

use crate::common::{DayKind, Term};

/// Why a calendar file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("the calendar file cannot be read: {0}")]
    Parse(String),
    #[error("holiday {name}: {month}/{day} is not a date")]
    BadHoliday { name: String, month: u8, day: u8 },
    #[error("a martial-law period ends before it starts ({from})")]
    BadPeriod { from: Date },
}

/// A public holiday on the same day every year (Labour Code, Art. 73).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedHoliday {
    pub month: u8,
    pub day: u8,
    pub name: String,
}

/// A holiday on a date that moves (Easter, Trinity), listed per year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatedDay {
    pub date: Date,
    pub name: String,
}

/// A period of martial law; `to` is absent while it lasts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: Date,
    #[serde(default)]
    pub to: Option<Date>,
}

impl Period {
    fn contains(&self, date: Date) -> bool {
        date >= self.from && self.to.is_none_or(|to| date <= to)
    }
}

/// The calendar file: what is a day off, as data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarData {
    #[serde(default)]
    pub fixed_holidays: Vec<FixedHoliday>,
    #[serde(default)]
    pub movable_holidays: Vec<DatedDay>,
    /// Working days made days off by a Cabinet order (a bridge day).
    #[serde(default)]
    pub moved_days_off: Vec<DatedDay>,
    /// Saturdays made working days to make up for a moved day off.
    #[serde(default)]
    pub moved_working_days: Vec<DatedDay>,
    /// When a holiday falls on a weekend, the next working day is off (Labour Code, Art. 67).
    #[serde(default)]
    pub holiday_on_weekend_moves_to_monday: bool,
    #[serde(default)]
    pub martial_law: Vec<Period>,
}

/// The working-day calendar of the centre.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkCalendar {
    fixed: BTreeSet<(u8, u8)>,
    movable: BTreeSet<Date>,
    moved_off: BTreeSet<Date>,
    moved_working: BTreeSet<Date>,
    weekend_moves: bool,
    martial_law: Vec<Period>,
}

fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

impl WorkCalendar {
    pub fn from_data(data: &CalendarData) -> Result<Self, CalendarError> {
        for holiday in &data.fixed_holidays {
            let month = Month::try_from(holiday.month).ok();
            // 2024 is a leap year, so 29 February is accepted as a date.
            if month
                .and_then(|m| Date::from_calendar_date(2024, m, holiday.day).ok())
                .is_none()
            {
                return Err(CalendarError::BadHoliday {
                    name: holiday.name.clone(),
                    month: holiday.month,
                    day: holiday.day,
                });
            }
        }
        for period in &data.martial_law {
            if period.to.is_some_and(|to| to < period.from) {
                return Err(CalendarError::BadPeriod { from: period.from });
            }
        }
        Ok(Self {
            fixed: data
                .fixed_holidays
                .iter()
                .map(|h| (h.month, h.day))
                .collect(),
            movable: data.movable_holidays.iter().map(|h| h.date).collect(),
            moved_off: data.moved_days_off.iter().map(|d| d.date).collect(),
            moved_working: data.moved_working_days.iter().map(|d| d.date).collect(),
            weekend_moves: data.holiday_on_weekend_moves_to_monday,
            martial_law: data.martial_law.clone(),
        })
    }

    pub fn from_toml_str(text: &str) -> Result<Self, CalendarError> {
        let data: CalendarData =
            toml::from_str(text).map_err(|e| CalendarError::Parse(e.to_string()))?;
        Self::from_data(&data)
    }

    /// Weekends only: for tests and for a centre that has not loaded its calendar yet.
    pub fn weekends_only() -> Self {
        Self {
            fixed: BTreeSet::new(),
            movable: BTreeSet::new(),
            moved_off: BTreeSet::new(),
            moved_working: BTreeSet::new(),
            weekend_moves: false,
            martial_law: Vec::new(),
        }
    }

    /// Put a period of martial law into force (or end it) without editing the file.
    pub fn with_martial_law(mut self, periods: Vec<Period>) -> Self {
        self.martial_law = periods;
        self
    }

    pub fn under_martial_law(&self, date: Date) -> bool {
        self.martial_law.iter().any(|p| p.contains(date))
    }

    fn is_holiday(&self, date: Date) -> bool {
        self.fixed.contains(&(u8::from(date.month()), date.day())) || self.movable.contains(&date)
    }

    /// Is `date` a working day of the centre?
    pub fn is_working_day(&self, date: Date) -> bool {
        if self.under_martial_law(date) {
            return !is_weekend(date);
        }
        if self.moved_working.contains(&date) {
            return true;
        }
        if is_weekend(date) || self.is_holiday(date) || self.moved_off.contains(&date) {
            return false;
        }
        // A holiday on Saturday or Sunday gives the next Monday off (and a chain of them more).
        if self.weekend_moves && date.weekday() == Weekday::Monday {
            let saturday = date - Duration::days(2);
            let sunday = date - Duration::days(1);
            return !(self.is_holiday(saturday) || self.is_holiday(sunday));
        }
        true
    }

    /// The first working day strictly after `date`.
    pub fn next_working_day_after(&self, date: Date) -> Date {
        let mut day = date;
        loop {
            day = day.next_day().unwrap_or(day);
            if self.is_working_day(day) || day == Date::MAX {
                return day;
            }
        }
    }

    /// `date` if it is a working day, else the next one.
    pub fn working_day_on_or_after(&self, date: Date) -> Date {
        if self.is_working_day(date) {
            date
        } else {
            self.next_working_day_after(date)
        }
    }

    /// The last day of a term that starts the day after `event`.
    pub fn deadline(&self, event: Date, term: Term) -> Date {
        if term.days == 0 {
            return event;
        }
        match term.kind {
            DayKind::Working => {
                let mut day = event;
                for _ in 0..term.days {
                    day = self.next_working_day_after(day);
                }
                day
            }
            DayKind::Calendar => {
                let end = event
                    .checked_add(Duration::days(i64::from(term.days)))
                    .unwrap_or(Date::MAX);
                self.working_day_on_or_after(end)
            }
        }
    }

    /// Regulation 7.1: a registered case goes to the provider no later than the next working day.
    pub fn forwarding_deadline(&self, registered: Date) -> Date {
        self.next_working_day_after(registered)
    }
}

/// A term given only as a number of days, counted as Art. 42 says: fewer than 10 days in
/// working days, 10 or more in calendar days.
pub fn term_by_law(days: u32) -> Term {
    Term {
        days,
        kind: if days < 10 {
            DayKind::Working
        } else {
            DayKind::Calendar
        },
    }
}

/// What is late about a case on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Overdue {
    /// Registered but not forwarded by the next working day.
    pub forwarding: bool,
    /// No decision by the end of the service term.
    pub decision: bool,
}

impl Overdue {
    pub fn any(self) -> bool {
        self.forwarding || self.decision
    }
}

/// The dates of a case that deadlines are counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseDates {
    pub registered: Date,
    #[serde(default)]
    pub forwarded: Option<Date>,
    #[serde(default)]
    pub decided: Option<Date>,
}

/// Compute what is overdue for a case on `today`, given its service term.
pub fn overdue(
    calendar: &WorkCalendar,
    dates: &CaseDates,
    service_term: Term,
    today: Date,
) -> Overdue {
    let forward_by = calendar.forwarding_deadline(dates.registered);
    let decide_by = calendar.deadline(dates.registered, service_term);
    let late = |done: Option<Date>, by: Date| match done {
        Some(day) => day > by,
        None => today > by,
    };
    Overdue {
        forwarding: late(dates.forwarded, forward_by),
        decision: late(dates.decided, decide_by),
    }
}

/// Regulation 8.5: an uncollected result goes to the archive three months after it was ready.
pub fn archive_due(result_ready: Date) -> Date {
    let months = u8::from(result_ready.month()) as i32 - 1 + 3;
    let year = result_ready.year() + months / 12;
    let month = Month::try_from((months % 12 + 1) as u8).unwrap_or(Month::January);
    let last_day = time::util::days_in_month(month, year);
    Date::from_calendar_date(year, month, result_ready.day().min(last_day)).unwrap_or(result_ready)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const UA: &str = include_str!("../../../assets/calendar/ua.toml");

    fn peacetime() -> WorkCalendar {
        WorkCalendar::from_toml_str(UA)
            .unwrap()
            .with_martial_law(Vec::new())
    }

    fn wartime() -> WorkCalendar {
        WorkCalendar::from_toml_str(UA).unwrap()
    }

    fn working(days: u32) -> Term {
        Term {
            days,
            kind: DayKind::Working,
        }
    }

    fn calendar_days(days: u32) -> Term {
        Term {
            days,
            kind: DayKind::Calendar,
        }
    }

    #[test]
    fn shipped_calendar_is_under_martial_law_since_24_february_2022() {
        let calendar = wartime();
        assert!(!calendar.under_martial_law(date!(2022 - 02 - 23)));
        assert!(calendar.under_martial_law(date!(2022 - 02 - 24)));
        assert!(calendar.under_martial_law(date!(2026 - 11 - 24)));
    }

    #[test]
    fn holidays_of_the_2023_reform_are_days_off_in_peacetime() {
        let calendar = peacetime();
        // Christmas on 25 December, Statehood Day 15 July, Defenders' Day 1 October.
        assert!(!calendar.is_working_day(date!(2025 - 12 - 25)));
        assert!(!calendar.is_working_day(date!(2026 - 07 - 15)));
        assert!(!calendar.is_working_day(date!(2026 - 10 - 01)));
        // No longer holidays: 7 January and 14 October.
        assert!(calendar.is_working_day(date!(2026 - 01 - 07)));
        assert!(calendar.is_working_day(date!(2025 - 10 - 14)));
    }

    #[test]
    fn under_martial_law_holidays_are_working_days_but_weekends_stay() {
        let calendar = wartime();
        assert!(calendar.is_working_day(date!(2025 - 12 - 25)));
        assert!(calendar.is_working_day(date!(2026 - 01 - 01)));
        assert!(!calendar.is_working_day(date!(2026 - 01 - 03)));
    }

    #[test]
    fn holiday_on_sunday_gives_monday_off_in_peacetime_only() {
        // 28 June 2026 (Constitution Day) is a Sunday.
        assert!(!peacetime().is_working_day(date!(2026 - 06 - 29)));
        assert!(wartime().is_working_day(date!(2026 - 06 - 29)));
    }

    #[test]
    fn forwarding_is_due_the_next_working_day() {
        let calendar = peacetime();
        // Registered on Friday 27 November 2026: due Monday 30 November.
        assert_eq!(
            calendar.forwarding_deadline(date!(2026 - 11 - 27)),
            date!(2026 - 11 - 30)
        );
        // Registered on Wednesday 31 December 2025: 1 January is a holiday, so Friday 2 January.
        assert_eq!(
            calendar.forwarding_deadline(date!(2025 - 12 - 31)),
            date!(2026 - 01 - 02)
        );
        // Under martial law 1 January is a working day.
        assert_eq!(
            wartime().forwarding_deadline(date!(2025 - 12 - 31)),
            date!(2026 - 01 - 01)
        );
    }

    #[test]
    fn working_day_terms_start_the_day_after_and_skip_days_off() {
        let calendar = peacetime();
        // Applied Thursday 24 December 2026: 25 Dec holiday, weekend; 5 working days are
        // 28, 29, 30, 31 December and 4 January (1 January is a holiday, 2–3 a weekend).
        assert_eq!(
            calendar.deadline(date!(2026 - 12 - 24), working(5)),
            date!(2027 - 01 - 04)
        );
        assert_eq!(
            wartime().deadline(date!(2026 - 12 - 24), working(5)),
            date!(2026 - 12 - 31)
        );
    }

    #[test]
    fn calendar_day_term_ending_on_a_day_off_moves_to_the_next_working_day() {
        let calendar = peacetime();
        // 10 calendar days from Wednesday 18 November 2026 end on Saturday 28 November → Monday 30.
        assert_eq!(
            calendar.deadline(date!(2026 - 11 - 18), calendar_days(10)),
            date!(2026 - 11 - 30)
        );
        // 30 calendar days from 2 December 2025 end on 1 January 2026 (holiday) → 2 January.
        assert_eq!(
            calendar.deadline(date!(2025 - 12 - 02), calendar_days(30)),
            date!(2026 - 01 - 02)
        );
        assert_eq!(
            wartime().deadline(date!(2025 - 12 - 02), calendar_days(30)),
            date!(2026 - 01 - 01)
        );
    }

    #[test]
    fn terms_under_ten_days_count_working_days_by_law() {
        assert_eq!(term_by_law(5).kind, DayKind::Working);
        assert_eq!(term_by_law(9).kind, DayKind::Working);
        assert_eq!(term_by_law(10).kind, DayKind::Calendar);
        assert_eq!(term_by_law(30).kind, DayKind::Calendar);
    }

    #[test]
    fn a_term_of_zero_days_ends_on_the_day_of_application() {
        assert_eq!(
            peacetime().deadline(date!(2026 - 11 - 24), working(0)),
            date!(2026 - 11 - 24)
        );
    }

    #[test]
    fn overdue_is_computable_on_any_date() {
        let calendar = peacetime();
        let dates = CaseDates {
            registered: date!(2026 - 11 - 27),
            forwarded: None,
            decided: None,
        };
        let term = working(5);
        assert!(!overdue(&calendar, &dates, term, date!(2026 - 11 - 30)).any());
        let late = overdue(&calendar, &dates, term, date!(2026 - 12 - 01));
        assert!(late.forwarding && !late.decision);
        let forwarded = CaseDates {
            forwarded: Some(date!(2026 - 11 - 30)),
            ..dates
        };
        assert!(!overdue(&calendar, &forwarded, term, date!(2026 - 12 - 04)).any());
        assert!(overdue(&calendar, &forwarded, term, date!(2026 - 12 - 07)).decision);
        let decided = CaseDates {
            decided: Some(date!(2026 - 12 - 04)),
            ..forwarded
        };
        assert!(!overdue(&calendar, &decided, term, date!(2027 - 06 - 01)).any());
    }

    #[test]
    fn uncollected_result_is_archived_three_months_later() {
        assert_eq!(archive_due(date!(2026 - 11 - 24)), date!(2027 - 02 - 24));
        assert_eq!(archive_due(date!(2026 - 11 - 30)), date!(2027 - 02 - 28));
        assert_eq!(archive_due(date!(2026 - 03 - 31)), date!(2026 - 06 - 30));
    }

    #[test]
    fn a_malformed_calendar_is_refused() {
        let err =
            WorkCalendar::from_toml_str("[[fixed_holidays]]\nmonth = 2\nday = 30\nname = \"x\"")
                .unwrap_err();
        assert!(matches!(err, CalendarError::BadHoliday { .. }));
        assert!(matches!(
            WorkCalendar::from_toml_str("fixed_holidays = 3"),
            Err(CalendarError::Parse(_))
        ));
    }
}
