//! Loads catalogue descriptions and prints what the load found, without storing anything:
//! `cargo run -p solas-catalogue --example load_report -- catalogues/*.toml`.

fn main() {
    let mut failed = false;
    for arg in std::env::args().skip(1) {
        match solas_catalogue::load_description(std::path::Path::new(&arg)) {
            Ok(l) => {
                let r = &l.report;
                println!(
                    "{}: {} rows, {} filtered, {} bad",
                    l.description.name, r.rows_loaded, r.filtered, r.bad_row_count
                );
                for (n, why) in &r.bad_rows {
                    println!("  bad {n}: {why}");
                }
                for row in l.rows.iter().take(2) {
                    println!("  e.g. {row:?}");
                }
            }
            Err(e) => {
                eprintln!("{arg}: {e}");
                failed = true;
            }
        }
    }
    std::process::exit(failed as i32);
}
