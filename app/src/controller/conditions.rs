//! The information card's conditions as the administrator meets them: on the Documents screen
//! each conditional document says whether it applies and why, or asks «Чи стосується: …?
//! Так / Ні» where no rule of the catalog decides it; a paid service asks whether the fee is
//! paid, exempt (with the ground) or paid later. The Form screen lists every decision and
//! draws no conclusion while one is open. The rules themselves are the domain's
//! (`fieldkit_domain::conditions`); this only shows them and records the answers.

use std::cell::RefCell;
use std::rc::Rc;

use fieldkit_domain::catalog::{Fee, Service};
use fieldkit_domain::common::{Necessity, RequirementId};
use fieldkit_domain::conditions::{ConditionCheck, ConditionOutcome, FeePayment, Needed};
use fieldkit_domain::conformity::{Assessment, Conformity};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use super::{Controller, act};
use crate::error::Result;
use crate::i18n::{Lang, Message};
use crate::ui::{AppWindow, DocumentsPage, FormPage};

pub fn attach(window: &AppWindow, controller: &Rc<RefCell<Controller>>) {
    let page = window.global::<DocumentsPage>();
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_answer_condition(move |applies| {
            act(&c, &w, |ctl, win| ctl.answer_condition(win, applies))
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_fee_chosen(move |status| act(&c, &w, |ctl, win| ctl.choose_fee(win, status)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_fee_ground_edited(move |ground| {
            act(&c, &w, |ctl, win| ctl.fee_ground_edited(win, &ground))
        });
    }
}

/// A form field's label, or its id when the catalog has no such field.
fn field_label(service: &Service) -> impl Fn(&str) -> String + '_ {
    |id| {
        service
            .form_field(id)
            .map_or_else(|| id.to_owned(), |f| f.label.clone())
    }
}

/// How a condition was decided, or what it still waits for, in a sentence.
pub fn outcome_text(check: &ConditionCheck, service: &Service) -> Message {
    let label = field_label(service);
    match &check.outcome {
        ConditionOutcome::Settled { applies, basis } => {
            let (uk, en) = if *applies {
                ("Стосується", "Applies")
            } else {
                ("Не стосується", "Does not apply")
            };
            Message::new(
                format!("{uk} — {}", basis.text_uk(&label)),
                format!("{en} — {}", basis.text_en(&label)),
            )
        }
        ConditionOutcome::Open { needs } => match needs {
            Needed::Answer => Message::new(
                "Ще не вирішено: дайте відповідь «Так» або «Ні».",
                "Not decided yet: answer «Yes» or «No».",
            ),
            Needed::FormAnswer { field } => Message::new(
                format!("Вирішить відповідь «{}» у заяві.", label(field)),
                format!("The answer «{}» in the form decides it.", label(field)),
            ),
            Needed::FeePayment => Message::new(
                "Вирішить відповідь про сплату збору.",
                "Whether the fee is paid decides it.",
            ),
            Needed::BirthDate => Message::new(
                "Вирішить дата народження заявника.",
                "The applicant's birth date decides it.",
            ),
        },
    }
}

/// One line per condition for the Form screen: the document, and how it stands.
fn condition_line(check: &ConditionCheck, service: &Service, lang: Lang) -> SharedString {
    format!(
        "{}: {}",
        check.title,
        outcome_text(check, service).in_lang(lang)
    )
    .into()
}

/// The amount as the screens show it (the domain's words).
pub(crate) fn fee_amount(fee: &Fee, lang: Lang) -> String {
    let (uk, en) = fee.amount_words();
    match lang {
        Lang::Uk => uk,
        Lang::En => en,
    }
}

/// The Documents screen's one sentence on what still stands before a conclusion.
fn documents_summary(assessment: &Assessment) -> (Message, bool) {
    let to_answer = assessment
        .conditions
        .iter()
        .filter(|c| {
            matches!(
                c.outcome,
                ConditionOutcome::Open {
                    needs: Needed::Answer | Needed::FeePayment
                }
            )
        })
        .count();
    let elsewhere = assessment
        .conditions
        .iter()
        .filter(|c| c.applies().is_none())
        .count()
        - to_answer;
    let missing = assessment.known_missing.len();
    if to_answer > 0 {
        (
            Message::new(
                format!("Дайте відповідь щодо умов: {to_answer}"),
                format!("Answer the conditions: {to_answer}"),
            ),
            false,
        )
    } else if missing > 0 {
        (
            Message::new(
                format!("Бракує документів: {missing}"),
                format!("Still missing: {missing}"),
            ),
            false,
        )
    } else if elsewhere > 0 {
        (
            Message::new(
                format!("Документи є; ще вирішиться в заяві умов: {elsewhere}"),
                format!("Documents are here; the form still decides conditions: {elsewhere}"),
            ),
            true,
        )
    } else {
        (
            Message::new(
                "Усі обов'язкові документи є.",
                "Every required document is here.",
            ),
            true,
        )
    }
}

impl Controller {
    /// The open visit's service and its package against the card, as typed so far.
    pub fn assessment(&self) -> Option<(Service, Assessment)> {
        let draft = self.draft.as_ref()?;
        let service = self.service(draft.service.as_deref()?)?.clone();
        let assessment = draft.assess(&service, self.today());
        Some((service, assessment))
    }

    /// The Documents screen's summary, fee and the selected document's condition.
    pub fn refresh_conditions(&mut self, window: &AppWindow) {
        let lang = self.lang();
        let page = window.global::<DocumentsPage>();
        let Some((service, assessment)) = self.assessment() else {
            return;
        };
        let (summary, ok) = documents_summary(&assessment);
        page.set_summary(summary.in_lang(lang).into());
        page.set_summary_ok(ok);
        page.set_fee_charged(matches!(service.fee, Fee::Paid { .. }));
        page.set_fee_amount(fee_amount(&service.fee, lang).into());
        let fee = self.draft.as_ref().and_then(|d| d.fee.clone());
        page.set_fee_status(match &fee {
            None => -1,
            Some(FeePayment::Paid) => 0,
            Some(FeePayment::Exempt { .. }) => 1,
            Some(FeePayment::PayLater) => 2,
        });
        if let Some(FeePayment::Exempt { ground }) = &fee {
            page.set_fee_ground(ground.clone().into());
        }
        let current = page.get_current().to_string();
        let check = assessment
            .conditions
            .iter()
            .find(|c| c.requirement.0 == current);
        match check {
            None => {
                page.set_condition("".into());
                page.set_condition_outcome("".into());
                page.set_condition_askable(false);
            }
            Some(check) => {
                let askable = service.documents.iter().any(|d| {
                    d.id == check.requirement
                        && matches!(&d.necessity, Necessity::Conditional { rule: None, .. })
                });
                let answer = self
                    .draft
                    .as_ref()
                    .and_then(|d| d.condition_answers.get(&check.requirement).copied());
                page.set_condition(check.condition.clone().into());
                page.set_condition_outcome(outcome_text(check, &service).in_lang(lang).into());
                page.set_condition_askable(askable);
                page.set_condition_answer(answer.map_or(-1, i32::from));
            }
        }
    }

    /// The Form screen's conditions and conclusion.
    pub fn refresh_conformity(&mut self, window: &AppWindow) {
        let lang = self.lang();
        let page = window.global::<FormPage>();
        let Some((service, assessment)) = self.assessment() else {
            return;
        };
        let lines = |checks: &[ConditionCheck]| -> ModelRc<SharedString> {
            let lines: Vec<SharedString> = checks
                .iter()
                .map(|c| condition_line(c, &service, lang))
                .collect();
            ModelRc::new(VecModel::from(lines))
        };
        match &assessment.computed {
            Err(unsettled) => {
                let decided: Vec<ConditionCheck> = assessment
                    .conditions
                    .iter()
                    .filter(|c| c.applies().is_some())
                    .cloned()
                    .collect();
                page.set_settled(false);
                page.set_conditions(lines(&decided));
                page.set_open_conditions(lines(&unsettled.open));
                page.set_computed_conforms(false);
                page.set_missing(ModelRc::default());
            }
            Ok(conformity) => {
                page.set_settled(true);
                page.set_conditions(lines(&assessment.conditions));
                page.set_open_conditions(ModelRc::default());
                let missing: Vec<SharedString> = match conformity {
                    Conformity::Conforms => Vec::new(),
                    Conformity::DoesNotConform { missing } => {
                        missing.iter().map(|m| m.title.clone().into()).collect()
                    }
                };
                page.set_computed_conforms(missing.is_empty());
                page.set_missing(ModelRc::new(VecModel::from(missing)));
            }
        }
    }

    fn answer_condition(&mut self, window: &AppWindow, applies: bool) -> Result<()> {
        let current = window.global::<DocumentsPage>().get_current().to_string();
        if let Some(draft) = self.draft.as_mut() {
            draft
                .condition_answers
                .insert(RequirementId(current), applies);
        }
        self.save_draft()?;
        self.refresh_documents(window)
    }

    fn choose_fee(&mut self, window: &AppWindow, status: i32) -> Result<()> {
        let ground = window
            .global::<DocumentsPage>()
            .get_fee_ground()
            .to_string();
        let payment = match status {
            0 => FeePayment::Paid,
            1 => FeePayment::Exempt { ground },
            _ => FeePayment::PayLater,
        };
        if let Some(draft) = self.draft.as_mut() {
            draft.fee = Some(payment);
        }
        self.save_draft()?;
        self.refresh_documents(window)
    }

    fn fee_ground_edited(&mut self, window: &AppWindow, ground: &str) -> Result<()> {
        if let Some(draft) = self.draft.as_mut() {
            draft.fee = Some(FeePayment::Exempt {
                ground: ground.to_owned(),
            });
        }
        self.save_draft()?;
        // The list and summary change; the field being typed in keeps its own text.
        self.refresh_conditions(window);
        Ok(())
    }
}
