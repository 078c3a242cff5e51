//! Models from a folder: a model that cannot be loaded is reported and left out, the others
//! load; the built-in models are the repository's `models/` folder.

use solas_classify::ModelSet;

fn copy_model(from: &str, to: &std::path::Path) {
    let src = crate::fink_parity::models_dir().join(from);
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn a_model_that_does_not_load_is_reported_and_the_others_run() {
    let dir = tempfile::tempdir().unwrap();
    copy_model("ztf-kilonova", &dir.path().join("good"));
    // A truncated forest.
    copy_model("ztf-kilonova", &dir.path().join("cut"));
    let forest = dir.path().join("cut/model.forest");
    let bytes = std::fs::read(&forest).unwrap();
    std::fs::write(&forest, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::write(
        dir.path().join("cut/model.toml"),
        std::fs::read_to_string(dir.path().join("cut/model.toml"))
            .unwrap()
            .replace("name = \"kilonova\"", "name = \"kilonova_cut\""),
    )
    .unwrap();
    // A description that is not TOML, and one naming an unknown family.
    std::fs::create_dir_all(dir.path().join("garbled")).unwrap();
    std::fs::write(dir.path().join("garbled/model.toml"), "name = [").unwrap();
    copy_model("rubin-snn-sn", &dir.path().join("odd"));
    std::fs::write(
        dir.path().join("odd/model.toml"),
        std::fs::read_to_string(dir.path().join("odd/model.toml"))
            .unwrap()
            .replace("family = \"supernnova\"", "family = \"astrology\""),
    )
    .unwrap();
    // The same name twice.
    copy_model("ztf-kilonova", &dir.path().join("twin"));

    let set = ModelSet::load_dir(dir.path()).unwrap();
    let names: Vec<&str> = set.models.iter().map(|m| m.name()).collect();
    assert_eq!(names, ["kilonova"]);
    let why: Vec<String> = set.failed.iter().map(|(_, e)| e.to_string()).collect();
    assert_eq!(why.len(), 4, "{why:#?}");
    assert!(why.iter().any(|w| w.contains("model.forest")), "{why:#?}");
    assert!(why.iter().any(|w| w.contains("astrology")), "{why:#?}");
    assert!(why.iter().any(|w| w.contains("second model")), "{why:#?}");
    assert!(why.iter().any(|w| w.contains("garbled")), "{why:#?}");
}

#[test]
fn the_built_in_models_are_the_repositorys() {
    let builtin = ModelSet::builtin();
    assert!(builtin.failed.is_empty());
    let folder = ModelSet::load_dir(&crate::fink_parity::models_dir()).unwrap();
    assert!(folder.failed.is_empty());
    let names =
        |s: &ModelSet| -> Vec<String> { s.models.iter().map(|m| m.name().to_string()).collect() };
    assert_eq!(names(&builtin), names(&folder));
    assert_eq!(
        names(&builtin),
        ["rubin_early_snia", "snn_sn", "early_snia", "kilonova"]
    );
    for (a, b) in builtin.models.iter().zip(&folder.models) {
        assert_eq!(a.description.version, b.description.version);
    }
}
