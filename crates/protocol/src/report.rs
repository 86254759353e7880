//! What a tablet reports at every sync: its own counts, so the back-office can reconcile what
//! the tablet holds against what arrived, and the head of its audit chain, which the server
//! anchors so a truncated chain or a vault restored from an older copy shows. It also carries
//! how many consultations the tablet gave without a case (regulation 2.36): counts only, by
//! day and service, never what was asked or answered.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceReport {
    pub cases_sealed: u64,
    pub envelopes_waiting: u64,
    pub last_case_number: Option<String>,
    pub audit_seq: u64,
    /// The keyed hash of the last audit event, hex.
    pub audit_hash: String,
    /// Case numbers sealed on the tablet and not yet delivered: what the centre must take
    /// again if the tablet is lost. Case numbers carry no personal data.
    #[serde(default)]
    pub waiting_cases: Vec<String>,
    /// Every consultation the tablet holds, counted per day and service. The whole count each
    /// time, so a report sent twice (or lost) leaves the server with the right numbers.
    #[serde(default)]
    pub consultations: Vec<ConsultationCount>,
}

/// Consultations given on one day (the tablet's local date, `YYYY-MM-DD`) about one service;
/// `service_code` is absent for «інше питання».
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsultationCount {
    pub day: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_code: Option<String>,
    pub count: u64,
}

/// The most counts one report may carry: a tablet that gave consultations about every service
/// of a large catalog every day for years still fits.
pub const MAX_CONSULTATION_COUNTS: usize = 20_000;
const MAX_SERVICE_CODE: usize = 64;

fn is_day(text: &str) -> bool {
    let b = text.as_bytes();
    let number = |range: std::ops::Range<usize>| {
        b[range].iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && number(0..4).is_some()
        && number(5..7).is_some_and(|m| (1..=12).contains(&m))
        && number(8..10).is_some_and(|d| (1..=31).contains(&d))
}

impl DeviceReport {
    /// Why the consultation counts cannot be taken as they are (a day that is no date, an
    /// oversized service code, too many counts), so the server refuses the report whole.
    pub fn check_consultations(&self) -> Result<(), String> {
        if self.consultations.len() > MAX_CONSULTATION_COUNTS {
            return Err(format!(
                "more than {MAX_CONSULTATION_COUNTS} consultation counts"
            ));
        }
        for count in &self.consultations {
            if !is_day(&count.day) {
                return Err(format!(
                    "consultation day {:?} is not YYYY-MM-DD",
                    count.day
                ));
            }
            if let Some(code) = &count.service_code
                && (code.is_empty() || code.len() > MAX_SERVICE_CODE)
            {
                return Err(format!(
                    "consultation service code must have 1 to {MAX_SERVICE_CODE} bytes"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn report(counts: Vec<ConsultationCount>) -> DeviceReport {
        DeviceReport {
            cases_sealed: 0,
            envelopes_waiting: 0,
            last_case_number: None,
            audit_seq: 1,
            audit_hash: "00".repeat(32),
            waiting_cases: vec![],
            consultations: counts,
        }
    }

    fn count(day: &str, service: Option<&str>) -> ConsultationCount {
        ConsultationCount {
            day: day.into(),
            service_code: service.map(str::to_owned),
            count: 1,
        }
    }

    #[test]
    fn a_report_from_before_consultations_still_reads() {
        let json = r#"{"cases_sealed":1,"envelopes_waiting":0,"last_case_number":null,"audit_seq":3,"audit_hash":"ab"}"#;
        let report: DeviceReport = serde_json::from_str(json).unwrap();
        assert!(report.consultations.is_empty());
    }

    #[test]
    fn consultation_counts_must_name_a_day_and_a_short_code() {
        assert!(
            report(vec![
                count("2026-12-04", Some("00001")),
                count("2026-12-31", None)
            ])
            .check_consultations()
            .is_ok()
        );
        for bad in [
            "2026-13-01",
            "2026-12-4",
            "04.12.2026",
            "2026-12-00",
            "２０２６-12-04",
        ] {
            assert!(
                report(vec![count(bad, None)])
                    .check_consultations()
                    .is_err(),
                "{bad}"
            );
        }
        let long = "9".repeat(MAX_SERVICE_CODE + 1);
        assert!(
            report(vec![count("2026-12-04", Some(&long))])
                .check_consultations()
                .is_err()
        );
        assert!(
            report(vec![count("2026-12-04", Some(""))])
                .check_consultations()
                .is_err()
        );
    }
}
