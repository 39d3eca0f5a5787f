//! Taking turns between loa processes on one data folder: an exclusive lock on a file in
//! `data_dir`, held until dropped. Used for the folder sync (`sync.lock`) and the metrics
//! rounds (`metrics.lock`); neither is the service's own lock (`loa.lock`).

use std::path::Path;

/// A turn, held until dropped.
pub struct Turn {
    _file: Option<std::fs::File>,
}

impl Turn {
    /// Waits (blocking) for the turn on `data_dir/file`. If the lock file cannot be used (a
    /// read-only data folder), the work goes on without it: the store's transactions still keep
    /// every write whole.
    pub fn take(data_dir: &Path, file: &str) -> Turn {
        let locked = std::fs::create_dir_all(data_dir)
            .and_then(|()| {
                std::fs::File::options()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(data_dir.join(file))
            })
            .and_then(|f| f.lock().map(|()| f));
        match locked {
            Ok(f) => Turn { _file: Some(f) },
            Err(e) => {
                tracing::warn!(error = %e, file, "cannot take the lock; going on without it");
                Turn { _file: None }
            }
        }
    }
}
