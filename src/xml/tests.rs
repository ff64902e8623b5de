use super::*;

fn parse(input: &str) -> Vec<Element> {
    match Document::parse(input) {
        Ok(doc) => doc.roots().cloned().collect(),
        Err(e) => panic!("unexpected error {e} for {input:?}"),
    }
}

fn error(input: &str) -> XmlError {
    match Document::parse(input) {
        Ok(doc) => panic!("expected an error, parsed {doc:?}"),
        Err(e) => e,
    }
}

#[test]
fn several_roots_raw_untrimmed_text() {
    let roots = parse("<a>  x &lt; y </a>\n<b k='v' j=\"w\">t</b>");
    assert_eq!(roots.len(), 2);
    assert_eq!(roots[0].text, "  x &lt; y ");
    assert_eq!(roots[1].attr("k"), Some("v"));
    assert_eq!(roots[1].attr("j"), Some("w"));
    assert_eq!(roots[1].line, 2);
}

#[test]
fn backslash_lt_is_text() {
    let roots = parse(r"<match>\<log>x</match>");
    assert_eq!(roots[0].text, r"\<log>x");
    let roots = parse(r"<regex>a\<;>b</regex>");
    assert_eq!(roots[0].text, r"a\<;>b");
}

#[test]
fn double_backslash_lets_lt_open_a_tag() {
    let roots = parse(r"<a>x\\<b>y</b></a>");
    assert_eq!(roots[0].children().count(), 1);
}

#[test]
fn comments_are_removed_even_inside_text() {
    let roots = parse("<!-- head --><a>one<!-- c -->two</a><! old style !>");
    assert_eq!(roots.len(), 1);
    assert_eq!(roots[0].text, "onetwo");
}

#[test]
fn text_keeps_only_what_follows_the_last_child() {
    let roots = parse("<a>before<b>1</b>after</a>");
    assert_eq!(roots[0].text, "after");
    assert_eq!(roots[0].children().next().map(|c| c.text.as_str()), Some("1"));
}

#[test]
fn self_closing_with_attribute_leaks_gt_into_parent() {
    let roots = parse("<a><b x=\"1\"/></a>");
    assert_eq!(roots[0].text, ">");
    let roots = parse("<a><b/></a>");
    assert_eq!(roots[0].text, "");
}

#[test]
fn wazuh_error_messages() {
    assert_eq!(error("<a>x</b>").message, "XMLERR: Element 'a' not closed.");
    assert_eq!(error("</a>").message, "XMLERR: Element not opened.");
    assert_eq!(error("<a>x").message, "XMLERR: End of file and some elements were not closed.");
    assert_eq!(error("<a><!-- x</a>").message, "XMLERR: Comment not closed.");
    assert_eq!(error("<a x=\"1\" x=\"2\">").message, "XMLERR: Attribute 'x' already defined.");
    assert_eq!(error("<a x=1>").message, "XMLERR: Attribute 'x' not followed by a \" or '.");
    assert_eq!(error("<a x>").message, "XMLERR: Attribute 'x' has no value.");
    assert_eq!(error("<a x=\"1>\">").message, "XMLERR: Attribute 'x' not closed.");
    assert_eq!(error("<a x=\"1\"y>").message, "XMLERR: Bad attribute closing for 'x'='1'.");
    assert_eq!(error("<a x=\"1").message, "XMLERR: End of file while reading an attribute.");
    let e = error("<a>\n\n<b>\n</a>");
    assert_eq!(e.line, 4);
}

#[test]
fn overflow_is_an_error() {
    let long = format!("<a>{}</a>", "x".repeat(MAX_TOKEN + 1));
    assert_eq!(error(&long).message, "XMLERR: String overflow.");
}

#[test]
fn deep_nesting_is_bounded() {
    let deep = "<a>".repeat(2000);
    assert_eq!(error(&deep).message, "XMLERR: Max recursion level reached");
}

#[test]
fn variables_apply_to_what_follows() {
    let mut doc = match Document::parse(
        "<var name=\"FREQ\">8</var><group><rule frequency=\"$FREQ\"><match>$freq|$(srcip) $</match></rule></group>",
    ) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    assert!(doc.apply_variables().is_ok());
    let group = doc.roots().next().cloned();
    let rule = group.as_ref().and_then(|g| g.children().next());
    assert_eq!(rule.and_then(|r| r.attr("frequency")), Some("8"));
    let text = rule.and_then(|r| r.children().next()).map(|m| m.text.clone());
    assert_eq!(text.as_deref(), Some("8|$(srcip) $"));
}

#[test]
fn unknown_variable_is_an_error_with_line() {
    let mut doc = match Document::parse("<var name=\"A\">1</var>\n<x>$B.c</x>") {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let e = doc.apply_variables().err();
    assert_eq!(e.map(|e| (e.line, e.message)), Some((2, "XMLERR: Unknown variable: 'B'.".to_owned())));
}

#[test]
fn variables_are_not_children() {
    let roots = parse("<a><var name=\"x\">1</var><b>2</b></a>");
    assert_eq!(roots[0].children().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["b"]);
}

proptest::proptest! {
    #[test]
    fn never_panics(input in ".{0,400}") {
        let _ = Document::parse(&input);
    }

    #[test]
    fn never_panics_on_tag_soup(parts in proptest::collection::vec(
        proptest::sample::select(vec!["<", ">", "/", "a", "=", "\"", "'", " ", "\\", "!", "-", "\n", "$", "var"]), 0..200)) {
        let input: String = parts.concat();
        if let Ok(mut doc) = Document::parse(&input) {
            let _ = doc.apply_variables();
        }
    }
}
