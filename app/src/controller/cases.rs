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
use crate::planned_visit::{PlannedVisit, VisitKind, done_setting};
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
    page.set_selected_planned(row.as_ref().is_some_and(|r| r.planned));
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
        // Cases planned for this tablet to hand over (sealed by another tablet, or by this one):
        // the visit names the case and its service; `true` while the hand-over is still to do.
        let mut handovers: std::collections::BTreeMap<String, (String, bool)> = Default::default();
        for visit in PlannedVisit::handovers(vault)? {
            let open = !visit.is_done(vault)?;
            let service = visit.first_service().unwrap_or_default().to_owned();
            let entry = handovers
                .entry(visit.case_number.clone())
                .or_insert((service, false));
            entry.1 |= open;
        }
        let service_of = |number: &str| {
            services
                .get(number)
                .or_else(|| handovers.get(number).map(|(service, _)| service))
                .cloned()
                .unwrap_or_default()
        };
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
            let (mut may_hand_over, mut may_withdraw) = later_steps(state);
            // A case handed over from a plan, not sealed here: this tablet's record of it is
            // the hand-over itself, never a withdrawal or a second hand-over.
            let planned_here = handovers.contains_key(&stub.case_number)
                && !services.contains_key(&stub.case_number);
            if planned_here {
                may_hand_over = false;
                may_withdraw = false;
            }
            let mut status = status_text(&stub.status, lang);
            if let Some(reason) = reasons.get(&stub.case_number) {
                status = format!("{status}: {reason}");
            }
            // This tablet knows the case by its hand-over alone: until the centre confirms
            // it, that is what the row says (not the «received» of the supplement's receipt).
            if planned_here && rank < CaseState::ResultDelivered.rank() {
                status = lang
                    .pick(
                        "видачу результату надіслано, чекає підтвердження центру",
                        "the hand-over is sent, waiting for the centre to confirm",
                    )
                    .to_owned();
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
                planned: false,
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
            // A hand-over of a case sealed elsewhere, waiting to be sent.
            let supplement_only = handovers.contains_key(&entry.case_number)
                && !services.contains_key(&entry.case_number);
            rows.push(CaseRow {
                service: service_of(&entry.case_number).into(),
                receipt: receipts.contains(&entry.case_number),
                number: entry.case_number.into(),
                state: "sealed".into(),
                status: if supplement_only {
                    lang.pick(
                        "доповнення чекає на надсилання",
                        "a supplement waits to be sent",
                    )
                    .into()
                } else {
                    "".into()
                },
                changed: false,
                delivered: false,
                may_hand_over: false,
                may_withdraw: !supplement_only && later_steps(Some(CaseState::Sealed)).1,
                planned: false,
            });
        }
        // Planned hand-overs not recorded yet: one row each, ready for the hand-over step.
        for (number, (service, open)) in &handovers {
            if !open
                || tracked.contains_key(number)
                || rows.iter().any(|r| r.number == number.as_str())
            {
                continue;
            }
            rows.push(CaseRow {
                service: service.clone().into(),
                number: number.clone().into(),
                // The centre plans a hand-over only for a result ready to be handed over.
                state: CaseState::ResultReady.name().into(),
                status: "".into(),
                changed: false,
                delivered: false,
                receipt: false,
                may_hand_over: true,
                may_withdraw: false,
                planned: true,
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

    /// A hand-over visit opened from «Сьогодні»: its case in «Справи», at the hand-over step
    /// (the applicant's signature, then «Підтвердити»), whichever tablet sealed the case.
    pub fn start_handover(&mut self, window: &AppWindow, visit_id: &str) -> Result<()> {
        let visit = PlannedVisit::load(self.vault()?, visit_id)?
            .filter(|visit| visit.kind == VisitKind::Handover && !visit.case_number.is_empty())
            .ok_or_else(|| {
                AppError::user(
                    "Цього виїзду для видачі результату на планшеті немає.",
                    "This hand-over visit is not on the tablet.",
                )
            })?;
        self.show(window, crate::ui::Screen::Cases)?;
        let page = window.global::<CasesPage>();
        page.set_selected(visit.case_number.clone().into());
        page.set_error("".into());
        show_selected_receipt(&page);
        self.pad.take();
        page.set_ink(slint::Image::default());
        if page.get_selected_may_hand_over() {
            page.set_action(1);
        } else {
            // Recorded already, or the case's state says no: the row says which.
            page.set_action(0);
            page.set_error(
                Message::new(
                    "Видачу результату цієї справи вже записано або її стан цього не дозволяє.",
                    "This case's hand-over is recorded already, or its state does not allow it.",
                )
                .in_lang(self.lang())
                .into(),
            );
        }
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
        // The hand-over visits planned for this case are done with this record.
        let done_visits: Vec<String> = if supplement == SupplementKind::Handover {
            PlannedVisit::handovers(vault)?
                .into_iter()
                .filter(|visit| visit.case_number == number)
                .map(|visit| done_setting(&visit.id()))
                .collect()
        } else {
            Vec::new()
        };
        vault.transaction(|tx| {
            for done in &done_visits {
                tx.put_setting(done, b"handed over")?;
            }
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
