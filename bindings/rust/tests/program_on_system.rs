// tests/program under Rust's default allocator (System, glibc): its report
// is the expected output, tests/program/expected.txt.
#[path = "program/mod.rs"]
mod program;

#[test]
fn output_is_the_expected_report() {
    let got = program::run();
    if std::env::var_os("HEAPKIT_BLESS").is_some() {
        std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/program/expected.txt"), &got).unwrap();
    }
    assert_eq!(got, include_str!("program/expected.txt"));
}
