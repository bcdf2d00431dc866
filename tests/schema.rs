//! The published schema (`schema/wshs-sniff.schema.json`) against what the
//! tool writes: every JSON line the fixtures produce validates, every cause code
//! of the classifier is in the schema's vocabulary (and no other), and
//! `wshs-sniff schema` prints the file.

use std::process::Command;

use serde_json::Value;
use wshs_sniff::classify::Cause;
use wshs_sniff::pipeline::Config;

const BIN: &str = env!("CARGO_BIN_EXE_wshs-sniff");

fn schema() -> Value {
    let text = std::fs::read_to_string("schema/wshs-sniff.schema.json").expect("schema file");
    serde_json::from_str(&text).expect("schema is JSON")
}

fn validator() -> jsonschema::Validator {
    let s = schema();
    assert!(
        jsonschema::draft202012::meta::is_valid(&s),
        "the schema is not valid JSON Schema 2020-12"
    );
    jsonschema::draft202012::new(&s).expect("schema compiles")
}

fn errors(v: &jsonschema::Validator, line: &Value) -> Vec<String> {
    v.iter_errors(line)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn fixtures() -> Vec<std::path::PathBuf> {
    let mut pcaps: Vec<_> = std::fs::read_dir("fixtures")
        .expect("fixtures dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    pcaps.sort();
    pcaps
}

#[test]
fn every_line_the_fixtures_produce_validates() {
    let v = validator();
    let mut lines = 0;
    let mut session_ends = 0;
    let mut failures = Vec::new();
    // With --sessions, so session_end records are checked too.
    let cfg = Config {
        http: wshs_sniff::http::HttpLimits {
            sessions: true,
            ..Default::default()
        },
        ..Config::default()
    };
    for pcap in fixtures() {
        let a = wshs_sniff::analyze_files(&[pcap.to_string_lossy()], &cfg).expect("fixture opens");
        for r in &a.records {
            if r.kind == wshs_sniff::report::record::Kind::SessionEnd {
                session_ends += 1;
            }
            let line = serde_json::to_value(r).expect("record serialises");
            let errs = errors(&v, &line);
            if !errs.is_empty() {
                failures.push(format!(
                    "{}: {line}\n  {}",
                    pcap.display(),
                    errs.join("\n  ")
                ));
            }
            lines += 1;
        }
    }
    assert!(lines >= 50, "too few lines checked: {lines}");
    assert!(
        session_ends >= 5,
        "too few session ends checked: {session_ends}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_binary_output_validates_too() {
    // The same through the command line, on a proxied capture (two legs, peer).
    let out = Command::new(BIN)
        .args([
            "-r",
            "fixtures/nginx-stripped__python-websockets.pcap",
            "--json",
            "--all",
        ])
        .output()
        .expect("run");
    assert!(out.status.success());
    let v = validator();
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.lines().count() >= 2);
    for line in text.lines() {
        let value: Value = serde_json::from_str(line).expect("JSON line");
        assert_eq!(errors(&v, &value), Vec::<String>::new(), "{line}");
    }
}

#[test]
fn the_schema_rejects_what_breaks_the_contract() {
    let v = validator();
    let a = wshs_sniff::analyze_files(&["fixtures/node-ws__missing-key.pcap"], &Config::default())
        .expect("fixture opens");
    let good = serde_json::to_value(&a.records[0]).expect("serialises");
    assert!(v.is_valid(&good));
    type Breaks = Box<dyn Fn(&mut Value)>;
    let broken: Vec<(&str, Breaks)> = vec![
        (
            "a field missing",
            Box::new(|l| {
                l.as_object_mut().map(|o| o.remove("evidence"));
            }),
        ),
        (
            "an unknown field",
            Box::new(|l| l["surprise"] = Value::Bool(true)),
        ),
        (
            "an unknown cause",
            Box::new(|l| l["cause"] = "bad-vibes".into()),
        ),
        ("a status as text", Box::new(|l| l["status"] = "400".into())),
        (
            "a bad endpoint",
            Box::new(|l| l["client"] = "somewhere".into()),
        ),
        ("an unknown kind", Box::new(|l| l["kind"] = "gossip".into())),
    ];
    for (what, breaks) in broken {
        let mut line = good.clone();
        breaks(&mut line);
        assert!(!v.is_valid(&line), "{what} passed: {line}");
    }
}

#[test]
fn every_cause_code_is_in_the_schema_and_no_other() {
    let s = schema();
    let listed: Vec<&str> = s["$defs"]["cause"]["enum"]
        .as_array()
        .expect("cause enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let codes: Vec<&str> = Cause::ALL.iter().map(|c| c.code()).collect();
    for c in &codes {
        assert!(listed.contains(c), "cause {c} missing from the schema");
    }
    for c in &listed {
        assert!(
            codes.contains(c),
            "schema lists {c}, which the tool never writes"
        );
    }
}

#[test]
fn the_schema_subcommand_prints_the_published_file() {
    let out = Command::new(BIN).arg("schema").output().expect("run");
    assert!(out.status.success());
    let file = std::fs::read("schema/wshs-sniff.schema.json").expect("schema file");
    assert_eq!(out.stdout, file);
}
