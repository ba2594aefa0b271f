//! Message templates: per tenant and locale from a folder, else the defaults shipped in the
//! binary (English and French), else English.
//!
//! A template `password_reset` for locale `fr` is three files: `password_reset.fr.subject`,
//! `password_reset.fr.txt` and `password_reset.fr.html`. In the folder, a tenant's own
//! files sit under `<tenant slug>/`, shared ones at the top.

use minijinja::Environment;
use portcullis_core::outbox::{MailError, MailRequest};
use std::path::PathBuf;

const BUILT_IN: &[(&str, &str)] = &[
    (
        "password_reset.en.subject",
        include_str!("templates/password_reset.en.subject"),
    ),
    (
        "password_reset.en.txt",
        include_str!("templates/password_reset.en.txt"),
    ),
    (
        "password_reset.en.html",
        include_str!("templates/password_reset.en.html"),
    ),
    (
        "password_reset.fr.subject",
        include_str!("templates/password_reset.fr.subject"),
    ),
    (
        "password_reset.fr.txt",
        include_str!("templates/password_reset.fr.txt"),
    ),
    (
        "password_reset.fr.html",
        include_str!("templates/password_reset.fr.html"),
    ),
];

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Clone, Debug, Default)]
pub struct Templates {
    dir: Option<PathBuf>,
}

impl Templates {
    /// `dir`: a folder of templates overriding the built-in ones.
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self { dir }
    }

    pub fn render(&self, mail: &MailRequest) -> Result<Rendered, MailError> {
        let language = mail
            .locale
            .split(['-', '_'])
            .next()
            .unwrap_or("en")
            .to_ascii_lowercase();
        let candidates = [
            (Some(mail.tenant.as_str()), mail.locale.as_str()),
            (Some(mail.tenant.as_str()), language.as_str()),
            (None, mail.locale.as_str()),
            (None, language.as_str()),
            (None, "en"),
        ];
        for (tenant, locale) in candidates {
            if let Some(parts) = self.find(&mail.template, tenant, locale) {
                return render_parts(parts, mail);
            }
        }
        Err(MailError::Permanent(format!(
            "no template {:?}",
            mail.template
        )))
    }

    /// The three parts of a template, from the folder or built in.
    fn find(&self, template: &str, tenant: Option<&str>, locale: &str) -> Option<[String; 3]> {
        let name = |ext: &str| format!("{template}.{locale}.{ext}");
        if let Some(dir) = &self.dir {
            let base = match tenant {
                Some(t) => dir.join(t),
                None => dir.clone(),
            };
            let read = |ext: &str| std::fs::read_to_string(base.join(name(ext))).ok();
            if let (Some(s), Some(t), Some(h)) = (read("subject"), read("txt"), read("html")) {
                return Some([s, t, h]);
            }
        }
        if tenant.is_some() {
            return None;
        }
        let built_in = |ext: &str| {
            BUILT_IN
                .iter()
                .find(|(n, _)| *n == name(ext))
                .map(|(_, body)| (*body).to_owned())
        };
        Some([built_in("subject")?, built_in("txt")?, built_in("html")?])
    }
}

fn render_parts(parts: [String; 3], mail: &MailRequest) -> Result<Rendered, MailError> {
    let mut env = Environment::new();
    // HTML escaping for the HTML part only; text parts are taken as they are.
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    let [subject, text, html] = parts;
    let bad =
        |e: minijinja::Error| MailError::Permanent(format!("template {}: {e}", mail.template));
    env.add_template_owned("subject", subject).map_err(bad)?;
    env.add_template_owned("body.txt", text).map_err(bad)?;
    env.add_template_owned("body.html", html).map_err(bad)?;
    let render = |name: &str| {
        env.get_template(name)
            .and_then(|t| t.render(&mail.vars))
            .map_err(bad)
    };
    Ok(Rendered {
        subject: render("subject")?.trim().to_owned(),
        text: render("body.txt")?,
        html: render("body.html")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn request(locale: &str) -> MailRequest {
        MailRequest {
            template: "password_reset".into(),
            tenant: "acme".into(),
            locale: locale.into(),
            to: "alice@example.com".into(),
            vars: BTreeMap::from([
                (
                    "link".into(),
                    "https://shop.example.com/reset?token=abc&x=<y>".into(),
                ),
                ("tenant_name".into(), "ACME".into()),
                ("email".into(), "alice@example.com".into()),
                ("expires_in".into(), "1day".into()),
                ("expires_in_hours".into(), "24".into()),
            ]),
        }
    }

    #[test]
    fn built_in_templates_per_language_with_english_fallback() {
        let t = Templates::default();
        let fr = t.render(&request("fr-FR")).unwrap();
        assert!(fr.subject.starts_with("Réinitialisez"));
        let de = t.render(&request("de")).unwrap();
        assert_eq!(de.subject, "Reset your ACME password");
        assert!(
            de.text
                .contains("https://shop.example.com/reset?token=abc&x=<y>"),
            "text is not escaped"
        );
        assert!(
            de.html.contains("token=abc&amp;x=&lt;y&gt;"),
            "HTML is escaped"
        );
    }

    #[test]
    fn a_tenant_folder_overrides_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("acme")).unwrap();
        for (ext, body) in [
            ("subject", "ACME: {{ email }}"),
            ("txt", "go {{ link }}"),
            ("html", "<a>{{ link }}</a>"),
        ] {
            std::fs::write(
                dir.path().join(format!("acme/password_reset.en.{ext}")),
                body,
            )
            .unwrap();
        }
        let t = Templates::new(Some(dir.path().to_owned()));
        assert_eq!(
            t.render(&request("en")).unwrap().subject,
            "ACME: alice@example.com"
        );
        let mut other = request("en");
        other.tenant = "globex".into();
        assert_eq!(
            t.render(&other).unwrap().subject,
            "Reset your ACME password"
        );
    }
}
