//! The application form (the service's own fields), the conformity conclusion and its
//! override with a written note.

use fieldkit_domain::case::ConformityOverride;
use fieldkit_domain::catalog::FieldKind;
use slint::{ComponentHandle, ModelRc, VecModel};

use super::{no_visit, strings};
use crate::controller::Controller;
use crate::error::Result;
use crate::i18n::Message;
use crate::ui::{AppWindow, FormPage, FormRow, Screen};

impl Controller {
    pub fn refresh_form(&mut self, window: &AppWindow) -> Result<()> {
        let lang = self.lang();
        let Some(draft) = self.draft.clone() else {
            return Ok(());
        };
        let Some(service) = draft
            .service
            .as_deref()
            .and_then(|c| self.service(c))
            .cloned()
        else {
            return Ok(());
        };
        let rows: Vec<FormRow> = service
            .form_fields
            .iter()
            .map(|f| FormRow {
                id: f.id.clone().into(),
                label: f.label.clone().into(),
                kind: match f.kind {
                    FieldKind::YesNo => "yes_no",
                    FieldKind::Choice => "choice",
                    FieldKind::Date => "date",
                    FieldKind::Number => "number",
                    FieldKind::Text => "text",
                }
                .into(),
                value: draft
                    .form_answers
                    .get(&f.id)
                    .cloned()
                    .unwrap_or_default()
                    .into(),
                required: f.required,
                options: strings(f.options.clone()),
            })
            .collect();
        let page = window.global::<FormPage>();
        page.set_fields(ModelRc::new(VecModel::from(rows)));
        self.refresh_conformity(window);
        page.set_overridden(draft.override_conformity.is_some());
        if let Some(o) = &draft.override_conformity {
            page.set_override_conforms(o.conforms);
            page.set_override_note(o.note.clone().into());
        }
        let _ = lang;
        Ok(())
    }

    pub(super) fn form_field(&mut self, window: &AppWindow, id: &str, value: &str) -> Result<()> {
        let draft = self.draft.as_mut().ok_or_else(no_visit)?;
        draft.form_answers.insert(id.to_owned(), value.to_owned());
        self.save_draft()?;
        // Choice buttons show the selection from the model; text fields keep their own text.
        let page = window.global::<FormPage>();
        let rows = page.get_fields();
        for index in 0..slint::Model::row_count(&rows) {
            if let Some(mut row) = slint::Model::row_data(&rows, index)
                && row.id == id
            {
                row.value = value.into();
                slint::Model::set_row_data(&rows, index, row);
            }
        }
        // An answer may decide a condition of the card.
        self.refresh_conformity(window);
        Ok(())
    }

    pub(super) fn set_override(
        &mut self,
        window: &AppWindow,
        on: bool,
        conforms: bool,
    ) -> Result<()> {
        let page = window.global::<FormPage>();
        page.set_overridden(on);
        page.set_override_conforms(conforms);
        if !on {
            let draft = self.draft.as_mut().ok_or_else(no_visit)?;
            draft.override_conformity = None;
            self.save_draft()?;
        }
        Ok(())
    }

    /// An override of the conclusion being written is kept only by "Next"; on lock it goes into
    /// the draft as typed, so unlocking finds it on the form again.
    pub fn keep_override_being_written(&mut self, window: &AppWindow) {
        let page = window.global::<FormPage>();
        let note = page.get_override_note().trim().to_owned();
        if !page.get_overridden() || note.is_empty() {
            return;
        }
        if let Some(draft) = self.draft.as_mut() {
            draft.override_conformity = Some(ConformityOverride {
                conforms: page.get_override_conforms(),
                note,
            });
        }
    }

    pub(super) fn form_next(&mut self, window: &AppWindow) -> Result<()> {
        let lang = self.lang();
        let page = window.global::<FormPage>();
        page.set_error("".into());
        let draft = self.draft.as_ref().ok_or_else(no_visit)?;
        let service = draft
            .service
            .as_deref()
            .and_then(|c| self.service(c))
            .cloned()
            .ok_or_else(no_visit)?;
        let missing: Vec<String> = service
            .form_fields
            .iter()
            .filter(|f| {
                f.required
                    && draft
                        .form_answers
                        .get(&f.id)
                        .is_none_or(|v| v.trim().is_empty())
            })
            .map(|f| f.label.clone())
            .collect();
        if !missing.is_empty() {
            let message = Message::new(
                format!("Заповніть: {}", missing.join(", ")),
                format!("Fill in: {}", missing.join(", ")),
            );
            page.set_error(message.in_lang(lang).into());
            return Ok(());
        }
        if let Some((_, assessment)) = self.assessment()
            && let Err(unsettled) = &assessment.computed
        {
            let titles: Vec<String> = unsettled.open.iter().map(|c| c.title.clone()).collect();
            page.set_error(
                Message::new(
                    format!("Спершу вирішіть умови: {}", titles.join("; ")),
                    format!("Decide the conditions first: {}", titles.join("; ")),
                )
                .in_lang(lang)
                .into(),
            );
            return Ok(());
        }
        let override_conformity = if page.get_overridden() {
            let note = page.get_override_note().trim().to_owned();
            if note.is_empty() {
                page.set_error(
                    Message::new(
                        "Змінити висновок можна лише з письмовим поясненням.",
                        "The conclusion can be changed only with a written note.",
                    )
                    .in_lang(lang)
                    .into(),
                );
                return Ok(());
            }
            Some(ConformityOverride {
                conforms: page.get_override_conforms(),
                note,
            })
        } else {
            None
        };
        let draft = self.draft.as_mut().ok_or_else(no_visit)?;
        draft.override_conformity = override_conformity;
        self.show(window, Screen::Choices)?;
        self.refresh_choices(window)
    }
}
