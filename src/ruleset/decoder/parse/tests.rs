use super::*;

fn one(xml: &str) -> Result<Decoder, Vec<String>> {
    let (mut decoders, problems) = parse_file("t.xml", xml);
    let errors: Vec<String> = problems.iter().filter(|p| !p.warning).map(ToString::to_string).collect();
    match (decoders.pop(), errors.is_empty()) {
        (Some(d), true) => Ok(d),
        _ => Err(errors),
    }
}

#[test]
fn repeated_regex_concatenates_and_last_type_wins() {
    let d = one("<decoder name=\"x\"><parent>p</parent><regex offset=\"after_parent\">^(\\S+) </regex>\
         <regex>(\\d+)</regex><order>srcip, user,  extra one</order></decoder>");
    let d = d.unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(d.regex_offset, Offset::AfterParent);
    assert_eq!(d.order.len(), 3);
    assert_eq!(d.order[1], Slot::Static(StaticField::DstUser), "user is dstuser");
    assert_eq!(d.order[2], Slot::Dynamic(Arc::from("extra")), "cut at the first space");
    assert!(d.regex.as_ref().is_some_and(|r| r.find(b"1.2.3.4 55").is_some()));
}

#[test]
fn load_errors_are_wazuh_messages() {
    let err = |xml: &str| one(xml).err().unwrap_or_default().join("\n");
    assert!(err("<decoder name=\"x\"><regex>a</regex></decoder>").contains("(2108): No 'prematch'"));
    assert!(err("<decoder name=\"x\"><prematch>a</prematch><regex>(a)</regex></decoder>").contains("regex and order"));
    assert!(
        err("<decoder name=\"x\"><prematch>a</prematch><type>bogus</type></decoder>")
            .contains("Invalid decoder type 'bogus'")
    );
    assert!(err("<decoder name=\"x\"><prematch>\\q</prematch></decoder>").contains("(1452): Syntax error on regex"));
    assert!(err("<decoder name=\"x\"><prematch>a</prematch><bogus/></decoder>").contains("Invalid element 'bogus'"));
    assert!(
        err("<decoder name=\"x\"><prematch>a</prematch><plugin_decoder>Nope</plugin_decoder></decoder>")
            .contains("(2110)")
    );
    assert!(err("<decoder id=\"x\"><prematch>a</prematch></decoder>").contains("(1230)"));
    assert!(err("<decoder name=\"x\"><prematch>a</prematch><regex offset=\"after_parent\">(a)</regex><order>x</order></decoder>")
        .contains("after_parent"));
    assert!(err("<decoder name=\"x\"><prematch>a</prematch>").contains("(1226)"));
}

#[test]
fn element_names_are_case_insensitive_except_type() {
    let d = one("<decoder name=\"x\"><PREMATCH>a</PREMATCH><Program_Name>sshd</Program_Name></decoder>");
    assert!(d.is_ok_and(|d| d.program_name.is_some() && d.prematch.is_some()));
    assert!(one("<decoder name=\"x\"><prematch>a</prematch><Type>ids</Type></decoder>").is_err());
}

#[test]
fn stock_decoders_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/wazuh/ruleset/decoders");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let (decoders, problems) = parse_file(&entry.path().to_string_lossy(), &text);
        let errors: Vec<String> = problems.iter().filter(|p| !p.warning).map(ToString::to_string).collect();
        assert_eq!(errors, Vec::<String>::new());
        count += decoders.len();
    }
    assert_eq!(count, 1575, "engine.md §9: 1,575 stock decoders");
}
