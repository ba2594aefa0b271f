//! Conversions between rows and core types.

use portcullis_core::{StoreError, Timestamp};
use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::postgres::PgRow;

pub(crate) fn get<'r, T>(row: &'r PgRow, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(col)
        .map_err(|e| StoreError::Internal(format!("column {col}: {e}")))
}

pub(crate) fn get_json<T: DeserializeOwned>(row: &PgRow, col: &str) -> Result<T, StoreError> {
    let v: serde_json::Value = get(row, col)?;
    serde_json::from_value(v).map_err(|e| StoreError::Internal(format!("column {col}: {e}")))
}

pub(crate) fn json<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, StoreError> {
    serde_json::to_value(v).map_err(|e| StoreError::Internal(format!("encoding column: {e}")))
}

pub(crate) fn get_ts(row: &PgRow, col: &str) -> Result<Timestamp, StoreError> {
    Ok(Timestamp(get(row, col)?))
}

pub(crate) fn get_opt_ts(row: &PgRow, col: &str) -> Result<Option<Timestamp>, StoreError> {
    Ok(get::<Option<i64>>(row, col)?.map(Timestamp))
}

/// Parses a text column with a core `parse` function.
pub(crate) fn get_parsed<T>(
    row: &PgRow,
    col: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, StoreError> {
    let text: String = get(row, col)?;
    parse(&text)
        .ok_or_else(|| StoreError::Internal(format!("column {col}: unknown value {text:?}")))
}
