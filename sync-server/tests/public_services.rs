#![allow(clippy::unwrap_used)]
//! The services as the public reads them, from a real local server over real TLS with the
//! demo catalog (assets/catalog) published: the three groupings, search in Ukrainian, the whole
//! information card in the domain's words, the centres, the English switch; nothing before a
//! catalog is published, and a newly published version at the next request.

use std::path::Path;
use std::sync::Arc;

use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::store::MetadataStore;
use reqwest::StatusCode;
use rustls::pki_types::CertificateDer;

fn now() -> i64 {
    1_795_000_000
}

fn demo_catalog() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/catalog/catalog.toml"),
    )
    .unwrap()
}

/// A phone's browser: trusts the server CA, presents no certificate.
fn phone(server_ca: &[u8]) -> reqwest::Client {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(server_ca.to_vec())).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

struct Site {
    server: LocalServer,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Site {
    async fn start(publish: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let server = LocalServer::start(dir.path(), now).await.unwrap();
        if publish {
            server
                .meta
                .publish_catalog(1, &demo_catalog(), now())
                .unwrap();
        }
        let client = phone(&server.server_ca);
        Self {
            server,
            client,
            _dir: dir,
        }
    }

    /// GET a path (its query already encoded), answering the status and the page.
    async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.server.public_url))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(!text.contains("<script"), "{path}: a script on the page");
        (status, text)
    }

    /// The search page for `q` (percent-encoded as a browser's form does), in `lang`.
    async fn search(&self, q: &str, lang: Option<&str>) -> String {
        let mut params = vec![("q", q)];
        if let Some(lang) = lang {
            params.push(("lang", lang));
        }
        let url = reqwest::Url::parse_with_params(
            &format!("{}/services", self.server.public_url),
            &params,
        )
        .unwrap();
        let path = format!("/services?{}", url.query().unwrap());
        let (status, text) = self.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{q}: {text}");
        text
    }
}

/// The codes of the service cards a page links to, in order.
fn linked_codes(page: &str) -> Vec<String> {
    page.split("href=\"/services/")
        .skip(1)
        .filter_map(|rest| {
            let target = &rest[..rest.find('"').unwrap()];
            let code = target.split('?').next().unwrap();
            code.chars()
                .all(|c| c.is_ascii_digit())
                .then(|| code.to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn before_a_catalog_is_published_the_pages_say_so_and_a_new_version_shows_at_once() {
    let site = Site::start(false).await;
    for (path, status) in [
        ("/services", StatusCode::OK),
        ("/centres", StatusCode::OK),
        (
            "/services?q=%D0%BF%D0%B5%D0%BD%D1%81%D1%96%D1%8F",
            StatusCode::OK,
        ),
        ("/services/00001", StatusCode::NOT_FOUND),
        ("/services/situation/residence", StatusCode::NOT_FOUND),
    ] {
        let (got, text) = site.get(path).await;
        assert_eq!(got, status, "{path}");
        assert!(
            text.contains("Перелік послуг ще не опубліковано"),
            "{path}: {text}"
        );
    }
    let (_, english) = site.get("/services?lang=en").await;
    assert!(english.contains("The list of services is not published yet"));

    site.server
        .meta
        .publish_catalog(1, &demo_catalog(), now())
        .unwrap();
    let (status, card) = site.get("/services/00001").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        card.contains("<h1>Декларування місця проживання</h1>"),
        "{card}"
    );

    // Version 2, published as the back-office does: on the very next request.
    let newer = demo_catalog()
        .replacen("version = 1", "version = 2", 1)
        .replacen(
            "title = \"Декларування місця проживання\"",
            "title = \"Декларування місця проживання (нова редакція)\"",
            1,
        );
    site.server.meta.publish_catalog(2, &newer, now()).unwrap();
    let (_, card) = site.get("/services/00001").await;
    assert!(
        card.contains("<h1>Декларування місця проживання (нова редакція)</h1>"),
        "{card}"
    );
    let (_, list) = site.get("/services/situation/residence").await;
    assert!(list.contains("(нова редакція)"));
    site.server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_services_are_grouped_three_ways() {
    let site = Site::start(true).await;
    let (status, index) = site.get("/services").await;
    assert_eq!(status, StatusCode::OK);
    for (link, title) in [
        ("/services/situation/residence", "Зміна місця проживання"),
        ("/services/situation/retirement", "Вихід на пенсію"),
        ("/services/area/pensions", "Пенсійне забезпечення"),
        ("/services/provider/pfu-lviv", "Пенсійного фонду"),
    ] {
        assert!(index.contains(&format!("href=\"{link}\"")), "{link}");
        assert!(index.contains(title), "{title}");
    }
    assert!(index.contains("name=\"q\""), "the search form");
    assert!(index.contains("<label for=\"q\">Пошук послуги</label>"));

    let (_, residence) = site.get("/services/situation/residence").await;
    assert_eq!(linked_codes(&residence), ["00001", "00002", "00003"]);
    assert!(residence.contains("<h1>Зміна місця проживання</h1>"));
    assert!(residence.contains("3 послуги"));
    // Each group page lists what the domain's grouping holds, in the catalog's order.
    let catalog = fieldkit_domain::catalog::Catalog::from_toml_str(&demo_catalog()).unwrap();
    let codes = |services: Vec<&fieldkit_domain::catalog::Service>| -> Vec<String> {
        services.iter().map(|s| s.code.0.clone()).collect()
    };
    let (_, pensions) = site.get("/services/area/pensions").await;
    assert_eq!(
        linked_codes(&pensions),
        codes(catalog.services_in_legal_area("pensions"))
    );
    assert!(linked_codes(&pensions).contains(&"00008".to_owned()));
    let (_, fund) = site.get("/services/provider/pfu-lviv").await;
    assert_eq!(
        linked_codes(&fund),
        codes(
            catalog.services_of_provider(&fieldkit_domain::common::ProviderId("pfu-lviv".into()))
        )
    );
    assert!(fund.contains("вул. Митрополита Андрея, 10"), "its address");
    assert!(
        fund.contains("href=\"tel:0800503753\""),
        "its phone to call"
    );
    let (_, dms) = site.get("/services/provider/dms-lviv").await;
    assert_eq!(linked_codes(&dms), ["00011"]);

    for path in [
        "/services/situation/nowhere",
        "/services/area/nowhere",
        "/services/provider/nobody",
    ] {
        let (status, text) = site.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(text.contains("Сторінку не знайдено"), "{path}");
    }
    site.server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn search_finds_services_by_ukrainian_words_whatever_the_apostrophe() {
    let site = Site::start(true).await;
    let found = linked_codes(&site.search("реєстрац", None).await);
    for code in ["00001", "00002", "00003"] {
        assert!(found.contains(&code.to_owned()), "реєстрац: {found:?}");
    }
    assert!(!found.contains(&"00008".to_owned()), "{found:?}");

    let page = site.search("місце проживання", None).await;
    let found = linked_codes(&page);
    assert_eq!(found[0], "00001", "the title's match first: {found:?}");
    assert!(
        found.contains(&"00003".to_owned()),
        "by a keyword: {found:?}"
    );
    assert!(page.contains("знайдено: 3 послуги"), "{page}");

    // Case, and the three apostrophes people type.
    for query in ["сім'ї", "СІМ’Ї", "сімʼї"] {
        let found = linked_codes(&site.search(query, None).await);
        assert!(found.contains(&"00005".to_owned()), "{query}: {found:?}");
    }
    // Words of the card beyond the name: a document's title.
    let found = linked_codes(&site.search("свідоцтва про народження", None).await);
    assert!(
        found.contains(&"00001".to_owned()),
        "by a document: {found:?}"
    );

    // Nothing found: a sentence, each word alone where it finds something, and examples.
    let nothing = site.search("пенсія космодром", None).await;
    assert!(linked_codes(&nothing).is_empty());
    assert!(
        nothing.contains("«пенсія космодром» нічого не знайдено"),
        "{nothing}"
    );
    assert!(
        nothing.contains("href=\"/services?q=%D0%BF%D0%B5%D0%BD%D1%81%D1%96%D1%8F\""),
        "the word «пенсія» alone: {nothing}"
    );
    assert!(
        nothing.contains(">прописка</a>"),
        "a keyword to try: {nothing}"
    );
    assert!(nothing.contains("href=\"/services\""), "browse instead");

    // What was typed comes back escaped, in the field and the sentence.
    let odd = site.search("<b>x</b>", None).await;
    assert!(odd.contains("&lt;b&gt;x&lt;/b&gt;") && !odd.contains("<b>x"));

    // English: the English titles are searched too, and the language is kept.
    let english = site.search("pension", Some("en")).await;
    assert_eq!(linked_codes(&english), ["00008"]);
    assert!(english.contains("href=\"/services/00008?lang=en\""));
    assert!(english.contains("<input type=\"hidden\" name=\"lang\" value=\"en\">"));
    site.server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_shows_the_whole_information_card_in_words() {
    let site = Site::start(true).await;
    let (status, card) = site.get("/services/00001").await;
    assert_eq!(status, StatusCode::OK);
    for text in [
        // Documents, each with its form and whether (and when) it is needed.
        "Декларація про місце проживання (за формою, встановленою КМУ)",
        "Потрібен завжди",
        "Форма: оригінал і копія",
        "Свідоцтво про народження",
        "Лише за умови:</strong> для особи, яка не досягла 14 років",
        "Лише за умови:</strong> якщо заявник не є власником житла",
        "Лише за умови:</strong> якщо заяву подає представник",
        "Оригінал пред&#39;являється, сторінки сканує адміністратор",
        // The fee and how to pay it.
        "34,00 грн",
        "Про надання публічних (електронних публічних) послуг щодо декларування",
        "Платіжні реквізити",
        "UA989999990000026007233566001",
        "12345678",
        "Адміністративний збір за декларування місця проживання (демо)",
        "від сплати звільнені особи, визначені законом",
        // Term, result, how it is received.
        "<h2>Строк надання</h2><p>у день звернення</p>",
        "Внесення відомостей до реєстру територіальної громади",
        "<li>мобільним адміністратором</li>",
        "<li>електронно</li>",
        // Refusal grounds and legal acts.
        "Подано не всі документи, необхідні для декларування",
        "Особа звернулася до органу, що не обслуговує",
        "Закон України від 05.11.2021 № 1871-IX",
        "Постанова Кабінету Міністрів України від 07.02.2022 № 265",
        // Who provides it, with contacts and hours.
        "Управління адміністративних послуг Львівської міської ради",
        "обідня перерва 13:00–13:45",
        "href=\"/services/situation/residence\"",
    ] {
        assert!(card.contains(text), "{text:?} is not on the card");
    }

    let (_, subsidy) = site.get("/services/00004").await;
    assert!(subsidy.contains("<p class=\"amount\">безоплатно</p>"));
    assert!(subsidy.contains("10 календарних днів"));
    let (_, id_card) = site.get("/services/00011").await;
    assert!(id_card.contains("20 робочих днів") && id_card.contains("345,00 грн"));

    // English: the domain's English words; the catalog's Ukrainian text marked as Ukrainian.
    let (_, english) = site.get("/services/00001?lang=en").await;
    for text in [
        "<html lang=\"en\">",
        "<h1>Declaration of residence</h1>",
        "Only:</strong> if the applicant is under 14",
        "Only:</strong> if the answer to «Підстава проживання» in the application is",
        "Only:</strong> if a representative applies on the applicant&#39;s behalf",
        "Form: original and copy",
        "UAH 34.00",
        "on the day of application",
        "by the mobile administrator",
        "<span lang=\"uk\">Свідоцтво про народження</span>",
        "href=\"/services/00001\"",
    ] {
        assert!(
            english.contains(text),
            "{text:?} is not on the English card"
        );
    }
    let (_, free) = site.get("/services/00004?lang=en").await;
    assert!(free.contains("free of charge") && free.contains("10 calendar days"));

    for path in ["/services/99999", "/services/00001x", "/services/%FF"] {
        let (status, text) = site.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(text.contains("Сторінку не знайдено"), "{path}");
    }
    site.server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_centres_page_lists_the_centre_and_every_provider() {
    let site = Site::start(true).await;
    let (status, page) = site.get("/centres").await;
    assert_eq!(status, StatusCode::OK);
    let catalog = fieldkit_domain::catalog::Catalog::from_toml_str(&demo_catalog()).unwrap();
    assert!(page.contains(&catalog.centre.office.name));
    assert!(page.contains("79008, м. Львів, пл. Ринок, 1"));
    assert!(page.contains("Пн–Чт 09:00–18:00, Пт 09:00–16:45"));
    assert!(page.contains("href=\"tel:+380322975795\""));
    for provider in &catalog.providers {
        assert!(
            page.contains(&format!("<h3>{}</h3>", provider.office.name)),
            "{}",
            provider.id
        );
        assert!(page.contains(&format!("href=\"/services/provider/{}\"", provider.id)));
    }
    let (_, english) = site.get("/centres?lang=en").await;
    assert!(english.contains("Lviv Centre for Administrative Services (demo)"));
    assert!(english.contains("<dt>Hours</dt>"));
    assert!(english.contains("href=\"/centres\""), "the switch back");
    site.server.stop();
}
