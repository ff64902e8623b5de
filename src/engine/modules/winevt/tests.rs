use super::*;

fn converted(input: &str) -> String {
    let root = json::parse(MODULE, input).expect("input parses");
    convert(&root).expect("converts")
}

#[test]
fn a_service_event_becomes_the_win_object_wazuh_builds() {
    let input = r#"{"Message":"The sppsvc service entered the running state.","Event":"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Service Control Manager' Guid='{555908d1-a6d7-4695-8e1e-26931d2012f4}' EventSourceName='Service Control Manager'/><EventID Qualifiers='16384'>7036</EventID><Version>0</Version><Level>4</Level><Task>0</Task><Opcode>0</Opcode><Keywords>0x8080000000000000</Keywords><TimeCreated SystemTime='2021-03-25T15:01:00.656299500Z'/><EventRecordID>3946</EventRecordID><Correlation/><Execution ProcessID='572' ThreadID='652'/><Channel>System</Channel><Computer>vagrant-2016</Computer><Security/></System><EventData><Data Name='param1'>sppsvc</Data><Data Name='param2'>running</Data><Binary>7300700070007300760063002F0034000000</Binary></EventData></Event>"}"#;
    let expected = r#"{"win":{"system":{"providerName":"Service Control Manager","providerGuid":"{555908d1-a6d7-4695-8e1e-26931d2012f4}","eventSourceName":"Service Control Manager","eventID":"7036","version":"0","level":"4","task":"0","opcode":"0","keywords":"0x8080000000000000","systemTime":"2021-03-25T15:01:00.656299500Z","eventRecordID":"3946","processID":"572","threadID":"652","channel":"System","computer":"vagrant-2016","severityValue":"INFORMATION","message":"\"The sppsvc service entered the running state.\""},"eventdata":{"param1":"sppsvc","param2":"running","binary":"7300700070007300760063002F0034000000"}}}"#;
    assert_eq!(converted(input), expected);
}

#[test]
fn event_data_filters_names_categories_and_policy_changes() {
    let event = "<Event><System><Level>0</Level><Keywords>0x8010000000000000</Keywords></System><EventData><Data>first  </Data><Data>second</Data><Data Name='skip'>(NULL)</Data><Data Name='dash'>-</Data><Data Name='CategoryId'>%%8274</Data><Data Name='SubcategoryId'>%%12801</Data><Data Name='AuditPolicyChanges'>%%8449, %%8451</Data><Data Other='Foo' Name='Bar'>v</Data></EventData></Event>";
    let input = serde_json::json!({"Event": event}).to_string();
    let expected = r#"{"win":{"system":{"level":"0","keywords":"0x8010000000000000","severityValue":"AUDIT_FAILURE"},"eventdata":{"categoryId":"%%8274","subcategoryId":"%%12801","auditPolicyChangesId":"%%8449, %%8451","foo":"v","bar":"v","category":"Object Access","subcategory":"Registry","auditPolicyChanges":"Success added, Failure added","data":"first, second"}}}"#;
    assert_eq!(converted(&input), expected);
}

#[test]
fn user_data_and_unreadable_xml() {
    let event = "<Event><System><EventID>1102</EventID></System><UserData><LogFileCleared><SubjectUserSid>S-1-5-21</SubjectUserSid><Empty></Empty></LogFileCleared></UserData></Event>";
    let input = serde_json::json!({"Event": event, "Message": "m"}).to_string();
    assert_eq!(
        converted(&input),
        r#"{"win":{"system":{"eventID":"1102","message":"\"m\""},"logFileCleared":{"subjectUserSid":"S-1-5-21"}}}"#
    );
    let broken = serde_json::json!({"Event": "<Event><System>", "Message": 12}).to_string();
    assert_eq!(converted(&broken), r#"{"win":{"system":{"message":"12"}}}"#);
    let no_event = json::parse(MODULE, r#"{"Message":"x"}"#).expect("parses");
    assert!(convert(&no_event).is_err(), "no Event: dropped");
}
