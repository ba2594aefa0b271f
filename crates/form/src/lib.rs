//! Decoding `application/x-www-form-urlencoded` bodies and query strings, for the native API
//! and the dialects alike.
//!
//! OAuth clients send forms whose values need no decoding at all (tokens, ids and keys are
//! URL-safe), yet the generic decoder scans every value byte by byte twice (percent
//! signs, then UTF-8) and was 4 % of an introspection's CPU time. A body that is valid UTF-8
//! with no `%` or `+` decodes to itself, so its pairs are handed to serde as borrowed slices;
//! any other body goes through `serde_urlencoded`, whose results the fast path reproduces
//! (see the tests).

use serde::de::value::{Error, MapDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

/// The form in `body` as a `T`, with serde_urlencoded's rules and errors.
pub fn from_bytes<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    match plain(body) {
        Some(text) => T::deserialize(MapDeserializer::new(pairs(text))).map_err(|e| e.to_string()),
        None => serde_urlencoded::from_bytes(body).map_err(|e| e.to_string()),
    }
}

/// A query string (`None`: the URI had none) as a `T`, with the same rules.
pub fn from_query<T: DeserializeOwned>(query: Option<&str>) -> Result<T, String> {
    from_bytes(query.unwrap_or("").as_bytes())
}

/// The body as text when decoding would not change it.
fn plain(body: &[u8]) -> Option<&str> {
    if memchr::memchr2(b'%', b'+', body).is_some() {
        return None;
    }
    std::str::from_utf8(body).ok()
}

/// One form-encoded component (`+` for space, percent-escapes), strictly UTF-8; `None` if it
/// is not. Most need no decoding and are copied once.
pub fn decode_component(s: &str) -> Option<String> {
    if !s.contains(['+', '%']) {
        return Some(s.to_owned());
    }
    let decoded = percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8()
        .ok()?
        .into_owned();
    Some(decoded)
}

/// `key=value` pairs split as the URL standard's parser does: empty pieces skipped, a piece
/// without `=` is a key with an empty value.
fn pairs(text: &str) -> impl Iterator<Item = (&str, Value<'_>)> {
    text.split('&').filter(|p| !p.is_empty()).map(|piece| {
        let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
        (k, Value(v))
    })
}

/// One value, read as serde_urlencoded reads it: present means `Some`, numbers and booleans
/// parsed from the text, enums by variant name.
struct Value<'de>(&'de str);

impl<'de> IntoDeserializer<'de, Error> for Value<'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

macro_rules! parsed {
    ($($method:ident => $visit:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.0.parse() {
                Ok(v) => visitor.$visit(v),
                Err(e) => Err(de::Error::custom(e)),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Value<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_enum(self.0.into_deserializer())
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    parsed! {
        deserialize_bool => visit_bool,
        deserialize_u8 => visit_u8,
        deserialize_u16 => visit_u16,
        deserialize_u32 => visit_u32,
        deserialize_u64 => visit_u64,
        deserialize_i8 => visit_i8,
        deserialize_i16 => visit_i16,
        deserialize_i32 => visit_i32,
        deserialize_i64 => visit_i64,
        deserialize_f32 => visit_f32,
        deserialize_f64 => visit_f64,
    }

    forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any i128 u128
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Hint {
        AccessToken,
        RefreshToken,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Sample {
        token: Option<String>,
        client_id: Option<String>,
        secret: Option<zeroize::Zeroizing<String>>,
        hint: Option<Hint>,
        count: Option<u32>,
        flag: Option<bool>,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Strict {
        token: String,
    }

    fn both<T: DeserializeOwned + PartialEq + std::fmt::Debug>(body: &str) -> Result<T, String> {
        let reference = serde_urlencoded::from_bytes::<T>(body.as_bytes());
        let fast = T::deserialize(MapDeserializer::new(pairs(body)));
        match (&reference, &fast) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{body:?}"),
            (Err(_), Err(_)) => {}
            _ => panic!("{body:?}: serde_urlencoded {reference:?}, fast path {fast:?}"),
        }
        fast.map_err(|e| e.to_string())
    }

    #[test]
    fn the_fast_path_reads_forms_as_serde_urlencoded_does() {
        let cases = [
            "",
            "&&",
            "token=eyJhbGciOi.eyJzdWIiOi.sig_-nature",
            "token=a&client_id=web&secret=k3y",
            "token",
            "token=&client_id=",
            "=value&token=x",
            "token=a=b=c",
            "hint=refresh_token&count=42&flag=true",
            "count=-1",
            "count=nope",
            "flag=yes",
            "hint=other",
            "unknown=1&token=x",
            "token=a&token=b",
            "&token=x&&client_id=y&",
        ];
        for body in cases {
            let _ = both::<Sample>(body);
            let _ = both::<Strict>(body);
        }
        assert_eq!(
            both::<Sample>("token=abc&count=7").unwrap().count,
            Some(7),
            "numbers are parsed"
        );
        assert!(
            both::<Strict>("token=x&extra=1").is_err(),
            "unknown fields refused"
        );
        assert!(
            both::<Sample>("token=a&token=b").is_err(),
            "duplicates refused"
        );
    }

    #[test]
    fn bodies_that_need_decoding_take_the_general_path() {
        assert!(plain(b"token=a%20b").is_none());
        assert!(plain(b"token=a+b").is_none());
        assert!(plain(b"token=\xff").is_none());
        assert_eq!(plain(b"token=ab"), Some("token=ab"));
        let s: Sample = from_bytes(b"token=a+b%21&client_id=%C3%A9").unwrap();
        assert_eq!(s.token.as_deref(), Some("a b!"));
        assert_eq!(s.client_id.as_deref(), Some("é"));
        let s: Sample = from_bytes(b"token=plain-value_1.2~3").unwrap();
        assert_eq!(s.token.as_deref(), Some("plain-value_1.2~3"));
    }
}
