//! eDocs: the templates emails are written from. A template is a subject,
//! a text part and an optional HTML part, with `{{name}}` placeholders for
//! the ticket's fields. Names are checked when a template is saved, so a
//! typo is refused then and not discovered in a customer's inbox.
//!
//! Values are user text (a summary, a customer's note): in the HTML part
//! they are escaped; in the subject every control or line-breaking
//! character becomes a space, so no value can start a header.

use contracts::notification::{EmailKind, EmailTemplateV1, MAX_LANGUAGE, MAX_PART, MAX_SUBJECT};
use contracts::ticket::TicketKind;

/// Every placeholder a template may use (the contract's list).
pub use contracts::notification::PLACEHOLDERS as NAMES;

/// Names that need the escalation service's view of the ticket.
pub const SLA_NAMES: &[&str] = &["response_due", "resolve_due"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part<'a> {
    Text(&'a str),
    Value(&'a str),
    /// `{{#name}}…{{/name}}`: what is inside, only when `name` has a value
    /// (a survey link, a resolution), so a missing one leaves no dangling
    /// "Rate us here:" line.
    Section(&'a str, Vec<Part<'a>>),
}

/// How deep sections may nest.
const MAX_DEPTH: usize = 8;

/// Splits a template into text, placeholders and sections; an unclosed
/// `{{` or section, a stray `{{/…}}` or an unknown name is an error
/// naming it.
fn parse(template: &str) -> Result<Vec<Part<'_>>, String> {
    let (parts, rest) = parse_until(template, None, 0)?;
    debug_assert!(rest.is_empty());
    Ok(parts)
}

/// Parts up to the `{{/within}}` that closes the section `within` (the
/// whole template when `None`), and what follows it.
fn parse_until<'a>(
    mut rest: &'a str,
    within: Option<&str>,
    depth: usize,
) -> Result<(Vec<Part<'a>>, &'a str), String> {
    // Sections nest, but not without end: each level is a frame of the
    // parser's and the renderer's stacks.
    if depth > MAX_DEPTH {
        return Err(format!("sections nest at most {MAX_DEPTH} deep"));
    }
    let mut parts = Vec::new();
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            parts.push(Part::Text(&rest[..start]));
        }
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "a {{ without its }}".to_owned())?;
        let tag = after[..end].trim();
        rest = &after[end + 2..];
        let known = |name: &str| {
            if NAMES.contains(&name) {
                Ok(())
            } else {
                Err(format!("no placeholder {{{{{name}}}}}"))
            }
        };
        if let Some(name) = tag.strip_prefix('#') {
            let name = name.trim();
            known(name)?;
            let (inner, after_section) = parse_until(rest, Some(name), depth + 1)?;
            parts.push(Part::Section(name, inner));
            rest = after_section;
        } else if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim();
            return match within {
                Some(open) if open == name => Ok((parts, rest)),
                Some(open) => Err(format!("{{{{/{name}}}}} closes {{{{#{open}}}}}")),
                None => Err(format!("a {{{{/{name}}}}} without its {{{{#{name}}}}}")),
            };
        } else {
            known(tag)?;
            parts.push(Part::Value(tag));
        }
    }
    if let Some(open) = within {
        return Err(format!("a {{{{#{open}}}}} without its {{{{/{open}}}}}"));
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest));
    }
    Ok((parts, ""))
}

/// The problem with a template's part, if any: its placeholders, and a
/// subject that fits on one line.
pub fn check(t: &EmailTemplateV1) -> Result<(), (&'static str, String)> {
    let language_ok = (2..=MAX_LANGUAGE).contains(&t.language.len())
        && t.language
            .split('-')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if !language_ok {
        return Err(("language", "a language tag such as en or pt-BR".into()));
    }
    if t.subject.trim().is_empty() || t.subject.chars().count() > MAX_SUBJECT {
        return Err(("subject", format!("1 to {MAX_SUBJECT} characters")));
    }
    if t.subject.chars().any(breaks_line) {
        return Err(("subject", "must be one line".into()));
    }
    let too_long = |part: &str| part.chars().count() > MAX_PART;
    if too_long(&t.text) || t.html.as_deref().is_some_and(too_long) {
        return Err(("text", format!("at most {MAX_PART} characters per part")));
    }
    parse(&t.subject).map_err(|e| ("subject", e))?;
    parse(&t.text).map_err(|e| ("text", e))?;
    if let Some(html) = &t.html {
        parse(html).map_err(|e| ("html", e))?;
    }
    Ok(())
}

/// Whether any part of `t` uses one of `names`.
pub fn uses(t: &EmailTemplateV1, names: &[&str]) -> bool {
    [Some(&t.subject), Some(&t.text), t.html.as_ref()]
        .into_iter()
        .flatten()
        .any(|part| mentions(&parse(part).unwrap_or_default(), names))
}

fn mentions(parts: &[Part<'_>], names: &[&str]) -> bool {
    parts.iter().any(|p| match p {
        Part::Text(_) => false,
        Part::Value(n) => names.contains(n),
        Part::Section(n, inner) => names.contains(n) || mentions(inner, names),
    })
}

/// A character that could end a header line (or look like it does).
pub fn breaks_line(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}')
}

/// `s` on one line: every control or line-breaking character a space.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if breaks_line(c) { ' ' } else { c })
        .collect()
}

fn escape_html(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("<br>\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
}

/// Where a rendered part goes, which decides how values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Subject,
    Text,
    Html,
}

/// The values of a template's placeholders, by name.
pub type Vars = std::collections::HashMap<&'static str, String>;

/// `template` with its placeholders filled from `vars` (a missing value is
/// empty). A template that does not parse is rendered as its raw text: it
/// was checked when saved, so this only guards against old data.
pub fn render(template: &str, vars: &Vars, mode: Mode) -> String {
    let Ok(parts) = parse(template) else {
        return match mode {
            Mode::Subject => one_line(template),
            _ => template.to_owned(),
        };
    };
    let mut out = String::with_capacity(template.len() + 64);
    render_parts(&parts, vars, mode, &mut out);
    match mode {
        Mode::Subject => one_line(out.trim()),
        _ => out,
    }
}

fn render_parts(parts: &[Part<'_>], vars: &Vars, mode: Mode, out: &mut String) {
    for part in parts {
        match part {
            Part::Text(s) => out.push_str(s),
            Part::Value(name) => {
                let value = vars.get(name).map_or("", String::as_str);
                match mode {
                    Mode::Subject => out.push_str(&one_line(value)),
                    Mode::Text => out.push_str(value),
                    Mode::Html => escape_html(value, out),
                }
            }
            Part::Section(name, inner) => {
                if vars.get(name).is_some_and(|v| !v.trim().is_empty()) {
                    render_parts(inner, vars, mode, out);
                }
            }
        }
    }
}

/// The languages the desk has its own templates in (the seed's desk
/// offers English, French and Dutch).
pub const BUILTIN_LANGUAGES: [&str; 3] = ["en", "fr", "nl"];

/// The desk's own template for `kind` in `language` (its primary subtag),
/// if it has one: English, French or Dutch.
pub fn builtin_in(kind: EmailKind, language: &str) -> Option<EmailTemplateV1> {
    let primary = language
        .split('-')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match primary.as_str() {
        "en" => Some(builtin(kind)),
        "fr" | "nl" => {
            let (subject, text, html) = translated(kind, &primary)?;
            Some(EmailTemplateV1 {
                kind,
                language: primary,
                subject: subject.into(),
                text: text.into(),
                html: Some(html.into()),
                builtin: true,
            })
        }
        _ => None,
    }
}

/// A ticket's kind as a noun of `language` (English unless the desk has
/// the language).
pub fn kind_noun(kind: TicketKind, language: &str) -> &'static str {
    let primary = language
        .split('-')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match (primary.as_str(), kind) {
        ("fr", TicketKind::Incident) => "incident",
        ("fr", TicketKind::Problem) => "problème",
        ("fr", TicketKind::Change) => "changement",
        ("fr", TicketKind::Request) => "demande de service",
        ("nl", TicketKind::Incident) => "incident",
        ("nl", TicketKind::Problem) => "probleem",
        ("nl", TicketKind::Change) => "wijziging",
        ("nl", TicketKind::Request) => "serviceverzoek",
        _ => kind.noun(),
    }
}

/// An SLA target (`response`, `resolve`) as a noun of `language`.
pub fn target_noun<'t>(target: &'t str, language: &str) -> &'t str {
    let primary = language
        .split('-')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match (primary.as_str(), target) {
        ("fr", "response") => "réponse",
        ("fr", "resolve") => "résolution",
        ("nl", "response") => "reactie",
        ("nl", "resolve") => "oplossing",
        _ => target,
    }
}

/// The French and Dutch built-ins: (subject, text, HTML).
fn translated(
    kind: EmailKind,
    language: &str,
) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match (language, kind) {
        ("fr", EmailKind::Logged) => (
            "[{{reference}}] Nous avons enregistré votre {{kind}} : {{summary}}",
            "Bonjour {{customer_name}},\n\nMerci : nous avons enregistré votre {{kind}} sous la référence {{reference}}.\n\n{{summary}}\n\n{{description}}\n\nPriorité : {{priority}}\nPour ajouter des informations, répondez à cet e-mail en gardant {{reference}} dans l'objet.\n\n{{desk_name}}\n",
            "<p>Bonjour {{customer_name}},</p>\n<p>Merci : nous avons enregistré votre {{kind}} sous la référence <strong>{{reference}}</strong>.</p>\n<p><strong>{{summary}}</strong></p>\n<p>{{description}}</p>\n<p>Priorité : {{priority}}</p>\n<p>Pour ajouter des informations, répondez à cet e-mail en gardant {{reference}} dans l'objet.</p>\n<p>{{desk_name}}</p>\n",
        ),
        ("fr", EmailKind::Resolved) => (
            "[{{reference}}] Résolu : {{summary}}",
            "Bonjour {{customer_name}},\n\nNous avons résolu {{reference}} : {{summary}}\n\n{{#resolution}}Ce que nous avons fait :\n{{resolution}}\n\n{{/resolution}}{{#survey_url}}Qu'en avez-vous pensé ? Donnez-nous votre avis : {{survey_url}}\n\n{{/survey_url}}Si le problème persiste, répondez à cet e-mail.\n\n{{desk_name}}\n",
            "<p>Bonjour {{customer_name}},</p>\n<p>Nous avons résolu <strong>{{reference}}</strong> : {{summary}}</p>\n{{#resolution}}<p>Ce que nous avons fait :<br>\n{{resolution}}</p>\n{{/resolution}}{{#survey_url}}<p>Qu'en avez-vous pensé ? <a href=\"{{survey_url}}\">Donnez-nous votre avis</a>.</p>\n{{/survey_url}}<p>Si le problème persiste, répondez à cet e-mail.</p>\n<p>{{desk_name}}</p>\n",
        ),
        ("fr", EmailKind::Action) => (
            "[{{reference}}] Mise à jour : {{summary}}",
            "Bonjour {{customer_name}},\n\nNous avons mis à jour {{reference}} :\n\n{{action_text}}\n\n{{action_author}}\n{{desk_name}}\n",
            "<p>Bonjour {{customer_name}},</p>\n<p>Nous avons mis à jour <strong>{{reference}}</strong> :</p>\n<p>{{action_text}}</p>\n<p>{{action_author}}<br>\n{{desk_name}}</p>\n",
        ),
        ("fr", EmailKind::Assigned) => (
            "[{{reference}}] Attribué : {{summary}}",
            "{{recipient_name}},\n\n{{reference}} ({{kind}}, priorité {{priority}}) est attribué à {{agent_name}} de l'équipe {{team_name}}.\n\n{{summary}}\n\n{{description}}\n\nClient : {{customer_name}}\nRéponse attendue avant : {{response_due}}\nRésolution attendue avant : {{resolve_due}}\n",
            "<p>{{recipient_name}},</p>\n<p><strong>{{reference}}</strong> ({{kind}}, priorité {{priority}}) est attribué à {{agent_name}} de l'équipe {{team_name}}.</p>\n<p><strong>{{summary}}</strong></p>\n<p>{{description}}</p>\n<p>Client : {{customer_name}}<br>\nRéponse attendue avant : {{response_due}}<br>\nRésolution attendue avant : {{resolve_due}}</p>\n",
        ),
        ("fr", EmailKind::Broadcast) => (
            "[{{reference}}] Priorité {{priority}}, {{kind}} : {{summary}}",
            "{{recipient_name}},\n\nCe ticket ({{kind}}) vient d'être enregistré et correspond à une règle de diffusion.\n\n{{reference}} : {{summary}}\nPriorité : {{priority}}\nService : {{service}}\nClient : {{customer_name}}\n\n{{description}}\n",
            "<p>{{recipient_name}},</p>\n<p>Ce ticket ({{kind}}) vient d'être enregistré et correspond à une règle de diffusion.</p>\n<p><strong>{{reference}}</strong> : {{summary}}<br>\nPriorité : {{priority}}<br>\nService : {{service}}<br>\nClient : {{customer_name}}</p>\n<p>{{description}}</p>\n",
        ),
        ("fr", EmailKind::EscalationAlert) => (
            "[{{reference}}] Escalade : délai de {{target}} le {{due_at}}",
            "{{recipient_name}},\n\n{{reference}} ({{kind}}, priorité {{priority}}) a atteint un point d'escalade de son délai de {{target}}, qui expire le {{due_at}}.\n\n{{summary}}\n\nAttribué à : {{agent_name}} ({{team_name}})\n",
            "<p>{{recipient_name}},</p>\n<p><strong>{{reference}}</strong> ({{kind}}, priorité {{priority}}) a atteint un point d'escalade de son délai de {{target}}, qui expire le {{due_at}}.</p>\n<p>{{summary}}</p>\n<p>Attribué à : {{agent_name}} ({{team_name}})</p>\n",
        ),
        ("fr", EmailKind::EscalationCustomer) => (
            "[{{reference}}] {{summary}}",
            "Bonjour {{customer_name}},\n\n{{escalation_text}}\n\n{{desk_name}}\n",
            "<p>Bonjour {{customer_name}},</p>\n<p>{{escalation_text}}</p>\n<p>{{desk_name}}</p>\n",
        ),
        ("fr", EmailKind::ResponseBreach) => (
            "[{{reference}}] Délai de réponse : expire le {{due_at}}",
            "{{recipient_name}},\n\nPersonne n'a encore répondu à {{reference}} ({{kind}}, priorité {{priority}}) et son délai de réponse expire le {{due_at}}.\n\n{{summary}}\n",
            "<p>{{recipient_name}},</p>\n<p>Personne n'a encore répondu à <strong>{{reference}}</strong> ({{kind}}, priorité {{priority}}) et son délai de réponse expire le {{due_at}}.</p>\n<p>{{summary}}</p>\n",
        ),
        ("fr", EmailKind::CustomerNote) => (
            "[{{reference}}] Le client a écrit : {{summary}}",
            "{{recipient_name}},\n\n{{action_author}} a ajouté à {{reference}} :\n\n{{action_text}}\n",
            "<p>{{recipient_name}},</p>\n<p>{{action_author}} a ajouté à <strong>{{reference}}</strong> :</p>\n<p>{{action_text}}</p>\n",
        ),
        ("fr", EmailKind::Supplier) => (
            "[{{reference}}] Confié à {{supplier_name}} : {{summary}}",
            "{{supplier_name}},\n\nNous vous confions {{reference}} (priorité {{priority}}).\n\n{{summary}}\n\n{{description}}\n\nRésolution attendue avant : {{resolve_due}}\n\n{{desk_name}}\n",
            "<p>{{supplier_name}},</p>\n<p>Nous vous confions <strong>{{reference}}</strong> (priorité {{priority}}).</p>\n<p><strong>{{summary}}</strong></p>\n<p>{{description}}</p>\n<p>Résolution attendue avant : {{resolve_due}}</p>\n<p>{{desk_name}}</p>\n",
        ),
        ("fr", EmailKind::ApprovalWanted) => (
            "[{{reference}}] Votre décision est attendue : {{summary}}",
            "{{recipient_name}},\n\nVous êtes approbateur de {{reference}} (priorité {{priority}}) et votre décision est attendue.\n\n{{summary}}\n\n{{description}}\n\nApprouvez ou rejetez ce changement dans le service desk.\n\n{{desk_name}}\n",
            "<p>{{recipient_name}},</p>\n<p>Vous êtes approbateur de <strong>{{reference}}</strong> (priorité {{priority}}) et votre décision est attendue.</p>\n<p><strong>{{summary}}</strong></p>\n<p>{{description}}</p>\n<p>Approuvez ou rejetez ce changement dans le service desk.</p>\n<p>{{desk_name}}</p>\n",
        ),
        ("nl", EmailKind::Logged) => (
            "[{{reference}}] Uw {{kind}} is geregistreerd: {{summary}}",
            "Beste {{customer_name}},\n\nDank u: uw {{kind}} is geregistreerd als {{reference}}.\n\n{{summary}}\n\n{{description}}\n\nPrioriteit: {{priority}}\nWilt u iets toevoegen, beantwoord dan deze e-mail en laat {{reference}} in het onderwerp staan.\n\n{{desk_name}}\n",
            "<p>Beste {{customer_name}},</p>\n<p>Dank u: uw {{kind}} is geregistreerd als <strong>{{reference}}</strong>.</p>\n<p><strong>{{summary}}</strong></p>\n<p>{{description}}</p>\n<p>Prioriteit: {{priority}}</p>\n<p>Wilt u iets toevoegen, beantwoord dan deze e-mail en laat {{reference}} in het onderwerp staan.</p>\n<p>{{desk_name}}</p>\n",
        ),
        ("nl", EmailKind::Resolved) => (
            "[{{reference}}] Opgelost: {{summary}}",
            "Beste {{customer_name}},\n\nWe hebben {{reference}} opgelost: {{summary}}\n\n{{#resolution}}Wat we hebben gedaan:\n{{resolution}}\n\n{{/resolution}}{{#survey_url}}Hoe hebben we het gedaan? Geef uw oordeel: {{survey_url}}\n\n{{/survey_url}}Is het niet opgelost, beantwoord dan deze e-mail.\n\n{{desk_name}}\n",
            "<p>Beste {{customer_name}},</p>\n<p>We hebben <strong>{{reference}}</strong> opgelost: {{summary}}</p>\n{{#resolution}}<p>Wat we hebben gedaan:<br>\n{{resolution}}</p>\n{{/resolution}}{{#survey_url}}<p>Hoe hebben we het gedaan? <a href=\"{{survey_url}}\">Geef uw oordeel</a>.</p>\n{{/survey_url}}<p>Is het niet opgelost, beantwoord dan deze e-mail.</p>\n<p>{{desk_name}}</p>\n",
        ),
        ("nl", EmailKind::Action) => (
            "[{{reference}}] Update: {{summary}}",
            "Beste {{customer_name}},\n\nWe hebben {{reference}} bijgewerkt:\n\n{{action_text}}\n\n{{action_author}}\n{{desk_name}}\n",
            "<p>Beste {{customer_name}},</p>\n<p>We hebben <strong>{{reference}}</strong> bijgewerkt:</p>\n<p>{{action_text}}</p>\n<p>{{action_author}}<br>\n{{desk_name}}</p>\n",
        ),
        ("nl", EmailKind::Assigned) => (
            "[{{reference}}] Toegewezen: {{summary}}",
            "{{recipient_name}},\n\n{{reference}} ({{kind}}, prioriteit {{priority}}) is toegewezen aan {{agent_name}} van {{team_name}}.\n\n{{summary}}\n\n{{description}}\n\nKlant: {{customer_name}}\nReageren voor: {{response_due}}\nOplossen voor: {{resolve_due}}\n",
            "<p>{{recipient_name}},</p>\n<p><strong>{{reference}}</strong> ({{kind}}, prioriteit {{priority}}) is toegewezen aan {{agent_name}} van {{team_name}}.</p>\n<p><strong>{{summary}}</strong></p>\n<p>{{description}}</p>\n<p>Klant: {{customer_name}}<br>\nReageren voor: {{response_due}}<br>\nOplossen voor: {{resolve_due}}</p>\n",
        ),
        ("nl", EmailKind::Broadcast) => (
            "[{{reference}}] Prioriteit {{priority}}, {{kind}}: {{summary}}",
            "{{recipient_name}},\n\nDit zojuist geregistreerde ticket ({{kind}}) valt onder een verzendregel.\n\n{{reference}}: {{summary}}\nPrioriteit: {{priority}}\nDienst: {{service}}\nKlant: {{customer_name}}\n\n{{description}}\n",
            "<p>{{recipient_name}},</p>\n<p>Dit zojuist geregistreerde ticket ({{kind}}) valt onder een verzendregel.</p>\n<p><strong>{{reference}}</strong>: {{summary}}<br>\nPrioriteit: {{priority}}<br>\nDienst: {{service}}<br>\nKlant: {{customer_name}}</p>\n<p>{{description}}</p>\n",
        ),
        ("nl", EmailKind::EscalationAlert) => (
            "[{{reference}}] Escalatie: termijn voor {{target}} op {{due_at}}",
            "{{recipient_name}},\n\n{{reference}} ({{kind}}, prioriteit {{priority}}) heeft een escalatiepunt bereikt van de termijn voor {{target}}, die verloopt op {{due_at}}.\n\n{{summary}}\n\nToegewezen aan: {{agent_name}} ({{team_name}})\n",
            "<p>{{recipient_name}},</p>\n<p><strong>{{reference}}</strong> ({{kind}}, prioriteit {{priority}}) heeft een escalatiepunt bereikt van de termijn voor {{target}}, die verloopt op {{due_at}}.</p>\n<p>{{summary}}</p>\n<p>Toegewezen aan: {{agent_name}} ({{team_name}})</p>\n",
        ),
        ("nl", EmailKind::EscalationCustomer) => (
            "[{{reference}}] {{summary}}",
            "Beste {{customer_name}},\n\n{{escalation_text}}\n\n{{desk_name}}\n",
            "<p>Beste {{customer_name}},</p>\n<p>{{escalation_text}}</p>\n<p>{{desk_name}}</p>\n",
        ),
        ("nl", EmailKind::ResponseBreach) => (
            "[{{reference}}] Reactietermijn: verloopt op {{due_at}}",
            "{{recipient_name}},\n\nNiemand heeft nog gereageerd op {{reference}} ({{kind}}, prioriteit {{priority}}) en de reactietermijn verloopt op {{due_at}}.\n\n{{summary}}\n",
            "<p>{{recipient_name}},</p>\n<p>Niemand heeft nog gereageerd op <strong>{{reference}}</strong> ({{kind}}, prioriteit {{priority}}) en de reactietermijn verloopt op {{due_at}}.</p>\n<p>{{summary}}</p>\n",
        ),
        ("nl", EmailKind::CustomerNote) => (
            "[{{reference}}] De klant schreef: {{summary}}",
            "{{recipient_name}},\n\n{{action_author}} voegde toe aan {{reference}}:\n\n{{action_text}}\n",
            "<p>{{recipient_name}},</p>\n<p>{{action_author}} voegde toe aan <strong>{{reference}}</strong>:</p>\n<p>{{action_text}}</p>\n",
        ),
        ("nl", EmailKind::Supplier) => (
            "[{{reference}}] Toegewezen aan {{supplier_name}}: {{summary}}",
            "{{supplier_name}},\n\nWe hebben {{reference}} (prioriteit {{priority}}) aan u overgedragen.\n\n{{summary}}\n\n{{description}}\n\nOplossen voor: {{resolve_due}}\n\n{{desk_name}}\n",
            "<p>{{supplier_name}},</p>\n<p>We hebben <strong>{{reference}}</strong> (prioriteit {{priority}}) aan u overgedragen.</p>\n<p><strong>{{summary}}</strong></p>\n<p>{{description}}</p>\n<p>Oplossen voor: {{resolve_due}}</p>\n<p>{{desk_name}}</p>\n",
        ),
        ("nl", EmailKind::ApprovalWanted) => (
            "[{{reference}}] Uw beslissing is nodig: {{summary}}",
            "{{recipient_name}},\n\nU bent goedkeurder van {{reference}} (prioriteit {{priority}}) en uw beslissing is nodig.\n\n{{summary}}\n\n{{description}}\n\nKeur de wijziging goed of wijs deze af in de servicedesk.\n\n{{desk_name}}\n",
            "<p>{{recipient_name}},</p>\n<p>U bent goedkeurder van <strong>{{reference}}</strong> (prioriteit {{priority}}) en uw beslissing is nodig.</p>\n<p><strong>{{summary}}</strong></p>\n<p>{{description}}</p>\n<p>Keur de wijziging goed of wijs deze af in de servicedesk.</p>\n<p>{{desk_name}}</p>\n",
        ),
        _ => return None,
    })
}

/// The desk's own English template for `kind`, used until a tenant
/// replaces it (in English or in another language).
pub fn builtin(kind: EmailKind) -> EmailTemplateV1 {
    let (subject, text, html) = match kind {
        EmailKind::Logged => (
            "[{{reference}}] We have logged your {{kind}}: {{summary}}",
            "Dear {{customer_name}},\n\nThank you: we have logged your {{kind}} as {{reference}}.\n\n{{summary}}\n\n{{description}}\n\nPriority: {{priority}}\nTo add to it, reply to this email and keep {{reference}} in the subject.\n\n{{desk_name}}\n",
            "<p>Dear {{customer_name}},</p>\n<p>Thank you: we have logged your {{kind}} as <strong>{{reference}}</strong>.</p>\n<p><strong>{{summary}}</strong></p>\n<p>{{description}}</p>\n<p>Priority: {{priority}}</p>\n<p>To add to it, reply to this email and keep {{reference}} in the subject.</p>\n<p>{{desk_name}}</p>\n",
        ),
        EmailKind::Resolved => (
            "[{{reference}}] Resolved: {{summary}}",
            "Dear {{customer_name}},\n\nWe have resolved {{reference}}: {{summary}}\n\n{{#resolution}}What we did:\n{{resolution}}\n\n{{/resolution}}{{#survey_url}}How did we do? Rate us here: {{survey_url}}\n\n{{/survey_url}}If it is not fixed, reply to this email.\n\n{{desk_name}}\n",
            "<p>Dear {{customer_name}},</p>\n<p>We have resolved <strong>{{reference}}</strong>: {{summary}}</p>\n{{#resolution}}<p>What we did:<br>\n{{resolution}}</p>\n{{/resolution}}{{#survey_url}}<p>How did we do? <a href=\"{{survey_url}}\">Rate us</a>.</p>\n{{/survey_url}}<p>If it is not fixed, reply to this email.</p>\n<p>{{desk_name}}</p>\n",
        ),
        EmailKind::Action => (
            "[{{reference}}] Update: {{summary}}",
            "Dear {{customer_name}},\n\nWe have updated {{reference}}:\n\n{{action_text}}\n\n{{action_author}}\n{{desk_name}}\n",
            "<p>Dear {{customer_name}},</p>\n<p>We have updated <strong>{{reference}}</strong>:</p>\n<p>{{action_text}}</p>\n<p>{{action_author}}<br>\n{{desk_name}}</p>\n",
        ),
        EmailKind::Assigned => (
            "[{{reference}}] Assigned to you: {{summary}}",
            "{{recipient_name}},\n\n{{reference}} ({{kind}}, priority {{priority}}) is assigned to {{agent_name}} of {{team_name}}.\n\n{{summary}}\n\n{{description}}\n\nCustomer: {{customer_name}}\nRespond by: {{response_due}}\nResolve by: {{resolve_due}}\n",
            "<p>{{recipient_name}},</p>\n<p><strong>{{reference}}</strong> ({{kind}}, priority {{priority}}) is assigned to {{agent_name}} of {{team_name}}.</p>\n<p><strong>{{summary}}</strong></p>\n<p>{{description}}</p>\n<p>Customer: {{customer_name}}<br>\nRespond by: {{response_due}}<br>\nResolve by: {{resolve_due}}</p>\n",
        ),
        EmailKind::Broadcast => (
            "[{{reference}}] New priority {{priority}} {{kind}}: {{summary}}",
            "{{recipient_name}},\n\nA new {{kind}} matches a broadcast alert.\n\n{{reference}}: {{summary}}\nPriority: {{priority}}\nService: {{service}}\nCustomer: {{customer_name}}\n\n{{description}}\n",
            "<p>{{recipient_name}},</p>\n<p>A new {{kind}} matches a broadcast alert.</p>\n<p><strong>{{reference}}</strong>: {{summary}}<br>\nPriority: {{priority}}<br>\nService: {{service}}<br>\nCustomer: {{customer_name}}</p>\n<p>{{description}}</p>\n",
        ),
        EmailKind::EscalationAlert => (
            "[{{reference}}] Escalation: {{target}} due {{due_at}}",
            "{{recipient_name}},\n\n{{reference}} ({{kind}}, priority {{priority}}) reached an escalation point of its {{target}} target, due {{due_at}}.\n\n{{summary}}\n\nAssigned to: {{agent_name}} ({{team_name}})\n",
            "<p>{{recipient_name}},</p>\n<p><strong>{{reference}}</strong> ({{kind}}, priority {{priority}}) reached an escalation point of its {{target}} target, due {{due_at}}.</p>\n<p>{{summary}}</p>\n<p>Assigned to: {{agent_name}} ({{team_name}})</p>\n",
        ),
        EmailKind::EscalationCustomer => (
            "[{{reference}}] {{summary}}",
            "Dear {{customer_name}},\n\n{{escalation_text}}\n\n{{desk_name}}\n",
            "<p>Dear {{customer_name}},</p>\n<p>{{escalation_text}}</p>\n<p>{{desk_name}}</p>\n",
        ),
        EmailKind::ResponseBreach => (
            "[{{reference}}] Response target: due {{due_at}}",
            "{{recipient_name}},\n\nNobody has responded to {{reference}} ({{kind}}, priority {{priority}}) and its response target is due {{due_at}}.\n\n{{summary}}\n",
            "<p>{{recipient_name}},</p>\n<p>Nobody has responded to <strong>{{reference}}</strong> ({{kind}}, priority {{priority}}) and its response target is due {{due_at}}.</p>\n<p>{{summary}}</p>\n",
        ),
        EmailKind::CustomerNote => (
            "[{{reference}}] The customer wrote: {{summary}}",
            "{{recipient_name}},\n\n{{action_author}} added to {{reference}}:\n\n{{action_text}}\n",
            "<p>{{recipient_name}},</p>\n<p>{{action_author}} added to <strong>{{reference}}</strong>:</p>\n<p>{{action_text}}</p>\n",
        ),
        EmailKind::Supplier => (
            "[{{reference}}] Assigned to {{supplier_name}}: {{summary}}",
            "{{supplier_name}},\n\nWe have handed {{reference}} (priority {{priority}}) to you.\n\n{{summary}}\n\n{{description}}\n\nResolve by: {{resolve_due}}\n\n{{desk_name}}\n",
            "<p>{{supplier_name}},</p>\n<p>We have handed <strong>{{reference}}</strong> (priority {{priority}}) to you.</p>\n<p><strong>{{summary}}</strong></p>\n<p>{{description}}</p>\n<p>Resolve by: {{resolve_due}}</p>\n<p>{{desk_name}}</p>\n",
        ),
        EmailKind::ApprovalWanted => (
            "[{{reference}}] Your decision is wanted: {{summary}}",
            "{{recipient_name}},\n\nYou are an approver of {{reference}} (priority {{priority}}), and your decision on it is wanted.\n\n{{summary}}\n\n{{description}}\n\nApprove or reject it in the desk.\n\n{{desk_name}}\n",
            "<p>{{recipient_name}},</p>\n<p>You are an approver of <strong>{{reference}}</strong> (priority {{priority}}), and your decision on it is wanted.</p>\n<p><strong>{{summary}}</strong></p>\n<p>{{description}}</p>\n<p>Approve or reject it in the desk.</p>\n<p>{{desk_name}}</p>\n",
        ),
    };
    EmailTemplateV1 {
        kind,
        language: "en".into(),
        subject: subject.into(),
        text: text.into(),
        html: Some(html.into()),
        builtin: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&'static str, &str)]) -> Vars {
        pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
    }

    #[test]
    fn every_builtin_checks() {
        for kind in EmailKind::ALL {
            for language in BUILTIN_LANGUAGES {
                let t = builtin_in(kind, language).expect("a built-in in each language");
                assert_eq!(check(&t), Ok(()), "{kind:?} {language}");
                assert_eq!(t.language, language);
            }
        }
        assert_eq!(
            builtin_in(EmailKind::Logged, "fr-CA").map(|t| t.language),
            Some("fr".to_owned())
        );
        assert!(builtin_in(EmailKind::Logged, "de").is_none());
    }

    #[test]
    fn a_section_shows_only_when_its_value_is_there() {
        let resolved = builtin(EmailKind::Resolved);
        let with = vars(&[
            ("resolution", "Replaced the toner"),
            ("survey_url", "https://d/s/1"),
        ]);
        let text = render(&resolved.text, &with, Mode::Text);
        assert!(text.contains("What we did:\nReplaced the toner"), "{text}");
        assert!(text.contains("Rate us here: https://d/s/1"), "{text}");
        let without = render(&resolved.text, &vars(&[("resolution", " ")]), Mode::Text);
        assert!(
            !without.contains("What we did") && !without.contains("Rate us"),
            "{without}"
        );
        let html = render(
            resolved.html.as_deref().unwrap_or(""),
            &vars(&[]),
            Mode::Html,
        );
        assert!(
            !html.contains("Rate us") && !html.contains("href"),
            "{html}"
        );
        let mut t = builtin(EmailKind::Logged);
        for (bad, why) in [
            (
                "{{#survey_url}}open",
                "a {{#survey_url}} without its {{/survey_url}}",
            ),
            (
                "close{{/survey_url}}",
                "a {{/survey_url}} without its {{#survey_url}}",
            ),
            (
                "{{#resolution}}{{/survey_url}}",
                "{{/survey_url}} closes {{#resolution}}",
            ),
            ("{{#nope}}{{/nope}}", "no placeholder {{nope}}"),
        ] {
            t.text = bad.into();
            assert_eq!(check(&t), Err(("text", why.into())), "{bad}");
        }
        t.text = "{{#kind}}".repeat(9) + &"{{/kind}}".repeat(9);
        assert_eq!(
            check(&t),
            Err(("text", "sections nest at most 8 deep".into()))
        );
        t.text = "{{#kind}}".repeat(8) + &"{{/kind}}".repeat(8);
        assert!(check(&t).is_ok());
        t.text = "{{#survey_url}}Rate: {{survey_url}}{{/survey_url}}".into();
        assert!(uses(&t, &["survey_url"]) && check(&t).is_ok());
    }

    #[test]
    fn unknown_and_unclosed_placeholders_are_refused() {
        let mut t = builtin(EmailKind::Logged);
        t.text = "Hello {{custmer_name}}".into();
        assert_eq!(
            check(&t),
            Err(("text", "no placeholder {{custmer_name}}".into()))
        );
        t.text = "Hello {{customer_name".into();
        assert_eq!(check(&t), Err(("text", "a {{ without its }}".into())));
        t = builtin(EmailKind::Logged);
        t.subject = "Two\nlines".into();
        assert_eq!(check(&t), Err(("subject", "must be one line".into())));
    }

    #[test]
    fn values_are_escaped_in_html_and_kept_on_one_line_in_the_subject() {
        let v = vars(&[
            (
                "summary",
                "<script>alert(1)</script> & \"more\"\r\nBcc: x@evil",
            ),
            ("reference", "INC-000042"),
        ]);
        assert_eq!(
            render("<p>{{summary}}</p>", &v, Mode::Html),
            "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;more&quot;<br>\nBcc: x@evil</p>"
        );
        assert_eq!(
            render("[{{reference}}] {{summary}}", &v, Mode::Subject),
            "[INC-000042] <script>alert(1)</script> & \"more\"  Bcc: x@evil"
        );
        assert_eq!(
            render("{{ summary }}", &v, Mode::Text),
            "<script>alert(1)</script> & \"more\"\r\nBcc: x@evil"
        );
        let sep = vars(&[("summary", "a\u{2028}b\u{85}c\td")]);
        assert_eq!(render("{{summary}}", &sep, Mode::Subject), "a b c d");
    }

    #[test]
    fn uses_finds_placeholders_in_any_part() {
        assert!(uses(&builtin(EmailKind::Assigned), SLA_NAMES));
        assert!(!uses(&builtin(EmailKind::Logged), SLA_NAMES));
    }
}
