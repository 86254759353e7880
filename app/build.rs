//! Compiles the screens, with the Ukrainian catalog bundled into the binary (no gettext files to
//! install on the tablet) and the debug info the headless tests need to find elements by their
//! accessible labels.
fn main() {
    let config = slint_build::CompilerConfiguration::new()
        .with_debug_info(true)
        .with_default_translation_context(slint_build::DefaultTranslationContext::None)
        .with_bundled_translations("../assets/i18n");
    if let Err(error) = slint_build::compile_with_config("ui/app.slint", config) {
        panic!("the screens do not compile: {error}");
    }
    println!("cargo:rerun-if-changed=../assets/i18n");
}
