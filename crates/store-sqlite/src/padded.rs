//! Multi-row statements padded to a power of two rows, so that a few statements, each
//! prepared once and kept, serve batches of every size. SQL whose text changes with the
//! batch size is parsed again at every batch, and on the one writing connection that parsing
//! holds up every write (docs/benchmarks.md). The padding rows are NULLs: they match nothing
//! and the statements skip them.

use sqlx::Sqlite;
use sqlx::sqlite::SqliteArguments;

pub(crate) type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>;

/// The rows a batch of `n` is padded to.
pub(crate) fn rows(n: usize) -> usize {
    n.next_power_of_two()
}

/// `(?, ?), (?, ?), ...`: `rows` rows of `columns` parameters, for a VALUES list.
pub(crate) fn values(rows: usize, columns: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(", "));
    vec![row; rows].join(", ")
}

/// Binds NULLs for the padding: the rows from `filled` up to `rows`.
pub(crate) fn pad<'q>(mut q: Query<'q>, filled: usize, rows: usize, columns: usize) -> Query<'q> {
    for _ in 0..(rows - filled) * columns {
        q = q.bind(None::<i64>);
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_share_a_few_sizes() {
        let sizes: Vec<usize> = [1, 2, 3, 5, 97, 128, 129, 256].map(rows).to_vec();
        assert_eq!(sizes, [1, 2, 4, 8, 128, 128, 256, 256]);
        assert_eq!(values(2, 3), "(?, ?, ?), (?, ?, ?)");
    }
}
