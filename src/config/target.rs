//! The communication plan's publishing targets, such as `2/week`, compared against what was
//! published in the report.

use std::fmt;

/// The period a target counts over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Per {
    /// Seven days.
    Week,
    /// A calendar month.
    Month,
}

/// "N posts per period".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    /// How many posts.
    pub count: u32,
    /// Per what.
    pub per: Per,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per = match self.per {
            Per::Week => "week",
            Per::Month => "month",
        };
        write!(f, "{}/{per}", self.count)
    }
}

impl Target {
    /// Parses `2/week`, `1/month`, and the Vietnamese `2/tuần`, `4/tháng`.
    pub fn parse(s: &str) -> Result<Target, String> {
        let bad = || {
            crate::i18n::tr(
                format!("`{s}` is not a target like `2/week` or `4/month`"),
                format!("`{s}` không phải chỉ tiêu dạng `2/tuần` hoặc `4/tháng`"),
            )
        };
        let (n, per) = s.trim().split_once('/').ok_or_else(bad)?;
        let count = n.trim().parse().map_err(|_| bad())?;
        let per = match crate::text::nfc(per.trim()).to_lowercase().as_str() {
            "week" | "tuần" => Per::Week,
            "month" | "tháng" => Per::Month,
            _ => return Err(bad()),
        };
        Ok(Target { count, per })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        assert_eq!(
            Target::parse("2/week"),
            Ok(Target {
                count: 2,
                per: Per::Week
            })
        );
        assert_eq!(Target::parse("4/tháng").unwrap().per, Per::Month);
        assert!(Target::parse("two/week").is_err());
        assert!(Target::parse("2/year").is_err());
    }
}
