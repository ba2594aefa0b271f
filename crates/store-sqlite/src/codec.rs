//! Conversions between rows and core types. Lists and settings are JSON text columns.

use portcullis_core::StoreError;
use portcullis_core::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

pub(crate) fn json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Internal(format!("encoding column: {e}")))
}

pub(crate) fn get<'r, T>(row: &'r SqliteRow, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(col)
        .map_err(|e| StoreError::Internal(format!("column {col}: {e}")))
}

pub(crate) fn get_json<T: DeserializeOwned>(row: &SqliteRow, col: &str) -> Result<T, StoreError> {
    let text: String = get(row, col)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Internal(format!("column {col}: {e}")))
}

pub(crate) fn get_uuid(row: &SqliteRow, col: &str) -> Result<Uuid, StoreError> {
    let text: String = get(row, col)?;
    Uuid::parse_str(&text).map_err(|e| StoreError::Internal(format!("column {col}: {e}")))
}

pub(crate) fn get_opt_uuid(row: &SqliteRow, col: &str) -> Result<Option<Uuid>, StoreError> {
    let text: Option<String> = get(row, col)?;
    text.map(|t| {
        Uuid::parse_str(&t).map_err(|e| StoreError::Internal(format!("column {col}: {e}")))
    })
    .transpose()
}

pub(crate) fn get_ts(row: &SqliteRow, col: &str) -> Result<Timestamp, StoreError> {
    Ok(Timestamp(get(row, col)?))
}

pub(crate) fn get_opt_ts(row: &SqliteRow, col: &str) -> Result<Option<Timestamp>, StoreError> {
    Ok(get::<Option<i64>>(row, col)?.map(Timestamp))
}

/// Parses a text column with a core `parse` function.
pub(crate) fn get_parsed<T>(
    row: &SqliteRow,
    col: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, StoreError> {
    let text: String = get(row, col)?;
    parse(&text)
        .ok_or_else(|| StoreError::Internal(format!("column {col}: unknown value {text:?}")))
}
