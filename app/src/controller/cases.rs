//! The cases on this tablet: waiting to sync, delivered, and their status from the centre. A
//! later visit hands over a result or records a withdrawal under the applicant's signature;
//! that record is sealed and synced like a case.

use std::cell::RefCell;
use std::rc::Rc;

use fieldkit_capture::signature::sign;
use fieldkit_domain::case::SignerRole;
use fieldkit_domain::workflow::{CaseState, StateName};
use fieldkit_protocol::SupplementKind;
use fieldkit_receipt::{SignedBy, handover_receipt, render_pdf, withdrawal_receipt};
use fieldkit_vault::SealCase;
use slint::{ComponentHandle, Model, ModelRc, VecModel};

use super::{Controller, act};
use crate::error::{AppError, Result};
use crate::i18n::Message;
use crate::sync_pass::enrolled_from_vault;
use crate::ui::{App, AppWindow, CaseRow, CasesPage};

pub fn attach(window: &AppWindow, controller: &Rc<RefCell<Controller>>) {
    let page = window.global::<CasesPage>();
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_select(move |number| {
            act(&c, &w, |_, win| {
                let page = win.global::<CasesPage>();
                page.set_selected(number);
                page.set_action(0);
                page.set_error("".into());
                show_selected_receipt(&page);
                Ok(())
            })
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_open_receipt(move || {
            act(&c, &w, |ctl, win| {
                let number = win.global::<CasesPage>().get_selected();
                ctl.open_receipt(win, &number)
            })
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_start_action(move |action| {
            act(&c, &w, |ctl, win| {
                ctl.pad.take();
                let page = win.global::<CasesPage>();
                page.set_action(action);
                page.set_ink(slint::Image::default());
                Ok(())
            })
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_point(move |x, y, width, height, start| {
            act(&c, &w, |ctl, win| {
                ctl.pad.point(x, y, width, height, start);
                win.global::<CasesPage>().set_ink(ctl.pad.ink());
                Ok(())
            })
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_lift(move || {
            act(&c, &w, |ctl, _| {
                ctl.pad.lift();
                Ok(())
            })
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_clear(move || {
            act(&c, &w, |ctl, win| {
                ctl.pad.take();
                win.global::<CasesPage>().set_ink(slint::Image::default());
                Ok(())
            })
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_confirm(move || act(&c, &w, |ctl, win| ctl.confirm_case_action(win)));
    }
}

/// Whether the selected case's receipt can be opened, and which later steps it allows, from
/// the listed rows.
fn show_selected_receipt(page: &CasesPage<'_>) {
    let selected = page.get_selected();
    let row = page.get_cases().iter().find(|row| row.number == selected);
    page.set_selected_receipt(row.as_ref().is_some_and(|r| r.receipt));
    page.set_selected_may_hand_over(row.as_ref().is_some_and(|r| r.may_hand_over));
    page.set_selected_may_withdraw(row.as_ref().is_some_and(|r| r.may_withdraw));
}

/// What the workflow allows a tablet to record for a case in `state`: hand the result over
/// (8.3, only once it is ready) and take a withdrawal (8.12, only before a decision). A state
/// this build does not know allows neither.
fn later_steps(state: Option<CaseState>) -> (bool, bool) {
    state.map_or((false, false), |s| {
        (s.result_can_be_handed_over(), s.can_be_withdrawn())
    })
}

/// How a status from the centre reads on the tablet.
pub fn status_text(status: &str, lang: crate::i18n::Lang) -> String {
    let (uk, en) = StateName::parse(status).words();
    lang.pick(uk, en).to_owned()
}

impl Controller {
    pub fn refresh_cases(&mut self, window: &AppWindow) -> Result<()> {
        let lang = self.lang();
        let vault = self.vault()?;
        let services: std::collections::BTreeMap<String, String> = vault
            .transaction(|tx| tx.settings_with_prefix("case."))?
            .into_iter()
            .map(|(key, value)| {
                (
                    key.trim_start_matches("case.").to_owned(),
                    String::from_utf8_lossy(&value).into_owned(),
                )
            })
            .collect();
        let receipts = super::receipt::kept_numbers(vault)?;
        let reasons: std::collections::BTreeMap<String, String> = vault
            .transaction(|tx| tx.settings_with_prefix(crate::sync_pass::RETURN_REASON))?
            .into_iter()
            .map(|(key, value)| {
                (
                    key.trim_start_matches(crate::sync_pass::RETURN_REASON)
                        .to_owned(),
                    String::from_utf8_lossy(&value).into_owned(),
                )
            })
            .collect();
        let service_of = |number: &str| services.get(number).cloned().unwrap_or_default();
        // One row per case: a hand-over or withdrawal travels as an envelope of its own under
        // the case's number, and is tracked like one, but it is a step of the same case. The
        // row shows the furthest state any of them has reached.
        let mut tracked: std::collections::BTreeMap<String, (u8, CaseRow)> = Default::default();
        for stub in vault.transaction(|tx| tx.tracking())? {
            let state = StateName::parse(&stub.status).known();
            let rank = state.map_or(0, CaseState::rank);
            if tracked
                .get(&stub.case_number)
                .is_some_and(|(kept, _)| *kept >= rank)
            {
                continue;
            }
            let (may_hand_over, may_withdraw) = later_steps(state);
            let mut status = status_text(&stub.status, lang);
            if let Some(reason) = reasons.get(&stub.case_number) {
                status = format!("{status}: {reason}");
            }
            let row = CaseRow {
                service: service_of(&stub.case_number).into(),
                number: stub.case_number.clone().into(),
                state: "delivered".into(),
                status: status.into(),
                changed: !stub.status.is_empty() && stub.status != "received",
                delivered: true,
                receipt: receipts.contains(&stub.case_number),
                may_hand_over,
                may_withdraw,
            };
            tracked.insert(stub.case_number, (rank, row));
        }
        let mut rows: Vec<CaseRow> = Vec::new();
        for entry in vault.outbox()? {
            let earlier = match tracked.get_mut(&entry.case_number) {
                Some((_, row)) => Some(row),
                None => rows
                    .iter_mut()
                    .find(|r| r.number == entry.case_number.as_str()),
            };
            if let Some(row) = earlier {
                // A supplement still on the tablet: the step is recorded, not yet sent.
                let waiting = lang.pick(
                    "доповнення чекає на надсилання",
                    "a supplement waits to be sent",
                );
                row.status = if row.status.is_empty() {
                    waiting.into()
                } else {
                    format!("{} · {waiting}", row.status).into()
                };
                row.may_hand_over = false;
                row.may_withdraw = false;
                continue;
            }
            rows.push(CaseRow {
                service: service_of(&entry.case_number).into(),
                receipt: receipts.contains(&entry.case_number),
                number: entry.case_number.into(),
                state: "sealed".into(),
                status: "".into(),
                changed: false,
                delivered: false,
                may_hand_over: false,
                may_withdraw: later_steps(Some(CaseState::Sealed)).1,
            });
        }
        rows.extend(tracked.into_values().map(|(_, row)| row));
        rows.sort_by(|a, b| b.number.cmp(&a.number));
        let page = window.global::<CasesPage>();
        page.set_cases(ModelRc::new(VecModel::from(rows)));
        show_selected_receipt(&page);
        self.unseen_statuses = 0;
        window.global::<App>().set_status_changes(0);
        Ok(())
    }

    /// Hand-over or withdrawal, signed by the applicant, sealed like a case.
    fn confirm_case_action(&mut self, window: &AppWindow) -> Result<()> {
        let page = window.global::<CasesPage>();
        page.set_error("".into());
        let number = page.get_selected().to_string();
        let action = page.get_action();
        // The screen offers only what the workflow allows; this holds if it ever did not.
        let allowed = if action == 1 {
            page.get_selected_may_hand_over()
        } else {
            page.get_selected_may_withdraw()
        };
        if !allowed {
            page.set_error(
                Message::new(
                    "Стан справи цього не дозволяє: результат видають, коли він готовий, а заяву відкликають лише до рішення.",
                    "The case's state does not allow this: a result is handed over once ready, an application withdrawn only before a decision.",
                )
                .in_lang(self.lang())
                .into(),
            );
            return Ok(());
        }
        let now = self.now();
        let when = format!(
            "{:02}.{:02}.{} {:02}:{:02}",
            now.day(),
            u8::from(now.month()),
            now.year(),
            now.hour(),
            now.minute()
        );
        let receipt = if action == 1 {
            handover_receipt(
                &number,
                "результат надання адміністративної послуги",
                &when,
                &self.admin_name,
            )
        } else {
            withdrawal_receipt(&number, "за бажанням заявника", &when, &self.admin_name)
        };
        let Some(strokes) = self.pad.strokes.clone() else {
            page.set_error(
                Message::new(
                    "Підпис порожній: розпишіться на полі.",
                    "The signature is empty: sign in the box.",
                )
                .in_lang(self.lang())
                .into(),
            );
            return Ok(());
        };
        let (record, _) = match sign(
            strokes,
            SignerRole::Applicant,
            "",
            now.unix_timestamp(),
            &receipt.content_sha256(),
        ) {
            Ok(signed) => signed,
            Err(error) => {
                page.set_error(AppError::from(error).message().in_lang(self.lang()).into());
                return Ok(());
            }
        };
        let pdf = zeroize::Zeroizing::new(render_pdf(
            &receipt,
            &[SignedBy {
                role: record.role,
                strokes: &record.strokes,
            }],
        )?);
        let supplement = if action == 1 {
            SupplementKind::Handover
        } else {
            SupplementKind::Withdrawal
        };
        let kind = supplement.name();
        let case_id = format!("{kind}-{number}");
        let document = serde_json::json!({
            "kind": kind,
            "case_number": number,
            "at": now.unix_timestamp(),
            "document_sha256": receipt.content_sha256(),
        });
        let record_json = zeroize::Zeroizing::new(serde_json::to_vec(&record)?);
        let vault = self.vault()?;
        let enrolled = enrolled_from_vault(vault)?;
        let envelope_id = format!("env-{kind}-{}", number.replace('/', "-"));
        vault.transaction(|tx| {
            tx.put_draft(&case_id, kind, document.to_string().as_bytes())?;
            tx.put_blob(&case_id, "signature", 0, &record_json)?;
            tx.put_blob(&case_id, kind, 1, &pdf)?;
            tx.seal_supplement(
                &SealCase {
                    case_id: &case_id,
                    envelope_id: &envelope_id,
                    case_number: &number,
                    recipient: &enrolled.sealing_key,
                    device: &enrolled.device,
                },
                supplement,
            )
            .map(|_| ())
        })?;
        self.pad.take();
        page.set_action(0);
        page.set_ink(slint::Image::default());
        let message = if action == 1 {
            Message::new(
                "Видачу результату записано й запечатано.",
                "The hand-over is recorded and sealed.",
            )
        } else {
            Message::new(
                "Відкликання заяви записано й запечатано.",
                "The withdrawal is recorded and sealed.",
            )
        };
        self.notify(window, &message, false);
        self.sync_now();
        self.refresh_cases(window)
    }
}
