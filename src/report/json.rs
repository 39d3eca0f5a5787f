//! `loa report --format json`: the model itself, pretty-printed. Its keys are the contract's
//! (`since`, `until`, `timezone`, `channels`, `periods`, `posts`, `targets`, `attention`) plus
//! the additions documented on [`Report`]; a missing figure is a left-out key, never 0.

use super::model::Report;

/// The report as pretty JSON, ending with a newline.
pub fn json(r: &Report) -> String {
    let mut s = serde_json::to_string_pretty(r).expect("a report always serializes");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::{SCRIPT_TITLE, fixture};
    use serde_json::{Value, json};

    #[test]
    fn has_the_contract_shape_and_exact_figures() {
        let v: Value = serde_json::from_str(&json(&fixture())).unwrap();
        for key in [
            "since",
            "until",
            "timezone",
            "channels",
            "periods",
            "posts",
            "targets",
            "attention",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        assert_eq!(v["since"], "2026-11-02");
        assert_eq!(v["until"], "2026-12-03");
        assert_eq!(v["timezone"], "Asia/Ho_Chi_Minh");
        assert_eq!(
            v["channels"][0],
            json!({"channel": "facebook", "posts": 5, "views": 1234, "reach": 980,
                   "reactions": 87, "comments": 12, "shares": 9, "clicks": 45})
        );
        // Zalo leaves out the figures it does not have.
        assert_eq!(
            v["channels"][1],
            json!({"channel": "zalo", "posts": 3, "views": 5678, "reactions": 40,
                   "comments": 3, "shares": 31})
        );
        assert_eq!(v["periods"][0]["start"], "2026-11-02");
        assert_eq!(v["periods"][0]["views"], 650);
        assert_eq!(
            v["posts"][0]["title"],
            "Họp dân về quy hoạch khu dân cư Đồng Xoài"
        );
        assert_eq!(v["posts"][0]["published_at"], "2026-11-03T07:00:00+07:00");
        assert_eq!(
            v["posts"][1]["metrics"],
            json!({"views": 2100, "reactions": 15, "comments": 1, "shares": 12})
        );
        assert_eq!(v["posts"][6]["title"], SCRIPT_TITLE);
        assert_eq!(v["posts"][6]["metrics"], json!({}));
        assert_eq!(v["targets"][0]["target"], "2/week");
        assert_eq!(v["targets"][0]["achieved"], 1.09);
        assert_eq!(v["targets"][0]["met"], false);
        assert_eq!(v["targets"][0]["periods"][1]["status"], "missed");
        assert_eq!(v["attention"][0]["state"], "failed");
        assert_eq!(v["attention"][1]["file"], Value::Null);
        assert_eq!(v["language"], "vi");
        assert_eq!(v["by"], "week");
    }
}
