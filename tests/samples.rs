//! The sample posts stay useful whatever the date: a new user who runs loa on them in any year
//! sees them scheduled in the coming slots, none `missed`.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use loa::store::{State, Store};

#[test]
fn the_samples_are_scheduled_ahead_in_any_year() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for start in ["2027-03-10T09:00:00Z", "2031-07-01T00:00:00Z"] {
        let now: DateTime<Utc> = start.parse().unwrap();
        let data = tempfile::tempdir().unwrap();
        let mut config = loa::config::Config::from_file(&root.join("config/loa.toml")).unwrap();
        config.data_dir = data.path().to_path_buf();
        let mut store = Store::open(&data.path().join("loa.db")).unwrap();
        let report = loa::engine::sync::sync(&mut store, &config, now).unwrap();
        assert!(report.invalid.is_empty(), "{report:?}");
        store
            .in_transaction(|s| loa::engine::bookkeeping(s, &config, now))
            .unwrap();
        let deliveries = store.deliveries().unwrap();
        assert!(deliveries.len() >= 5, "{deliveries:?}");
        for d in deliveries {
            assert_eq!(d.state, State::Scheduled, "{start}: {d:?}");
            let due = d.due_at.expect("every sample gets a time");
            assert!(
                due >= now && due - now < Duration::days(30),
                "{start}: due {due} is not in the coming weeks: {d:?}"
            );
        }
    }
}
