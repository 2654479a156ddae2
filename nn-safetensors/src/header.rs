//! The JSON header: parsed by `serde_json` into its typed form (the file's object, each
//! tensor's object, the shape and offset arrays), then checked as a whole.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::{Dtype, FormatError, MAX_TENSORS};

/// One tensor as the header lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// The state-dict key.
    pub name: String,
    /// The element type.
    pub dtype: Dtype,
    /// The shape.
    pub shape: Vec<usize>,
    /// Start and end of its bytes, counted from the end of the header.
    pub offsets: (u64, u64),
}

/// A checked header: tensors that tile `0..data_len` in order, each exactly as large as
/// its shape and type make it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// In the order of their offsets.
    tensors: Vec<TensorInfo>,
    data_len: u64,
}

impl Header {
    /// The tensors, in the order of their data.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }
    /// The tensors, by value.
    pub fn into_tensors(self) -> Vec<TensorInfo> {
        self.tensors
    }
    /// The bytes of data the header promises after itself.
    pub fn data_len(&self) -> u64 {
        self.data_len
    }
}

fn bad(reason: String) -> FormatError {
    FormatError::Header(reason)
}

/// Parses and checks a header (the JSON text after the 8-byte length). Trailing spaces,
/// which writers add for alignment, are allowed; `__metadata__`, a map of strings to
/// strings, is checked and ignored. An error in the JSON names the tensor it is in and
/// ends with `serde_json`'s line and column.
///
/// ```
/// let h = nn_safetensors::parse_header(br#"{"b":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}  "#)?;
/// assert_eq!(h.data_len(), 8);
/// assert!(nn_safetensors::parse_header(br#"{"b":{"dtype":"I64","shape":[2],"data_offsets":[0,8]}}"#).is_err());
/// # Ok::<(), nn_safetensors::FormatError>(())
/// ```
pub fn parse_header(json: &[u8]) -> Result<Header, FormatError> {
    let mut within = Within::Top;
    let mut json = serde_json::Deserializer::from_slice(json);
    let tensors = Tensors {
        within: &mut within,
    }
    .deserialize(&mut json)
    .and_then(|tensors| json.end().map(|()| tensors))
    .map_err(|e| {
        bad(match within {
            Within::TooMany => return FormatError::TooManyTensors { limit: MAX_TENSORS },
            Within::Top => format!("{e}"),
            Within::Metadata => format!("`__metadata__`: {e}"),
            Within::Tensor(name) => format!("tensor `{name}`: {e}"),
        })
    })?;
    check(tensors)
}

/// Checks that the tensors' names are distinct, and that their data tiles `0..end` in
/// order, each of the size its shape and type give.
fn check(mut tensors: Vec<TensorInfo>) -> Result<Header, FormatError> {
    let mut names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(bad(format!("tensor `{}` is listed twice", w[0])));
    }
    tensors.sort_by_key(|t| t.offsets);
    let mut end = 0u64;
    for t in &tensors {
        let (s, e) = t.offsets;
        if s != end {
            return Err(bad(format!(
                "tensor `{}` starts at data byte {s}, but the tensors before it end at {end}; \
                 tensors must follow each other with no gap or overlap",
                t.name
            )));
        }
        if e < s {
            return Err(bad(format!(
                "tensor `{}` ends (data byte {e}) before it starts ({s})",
                t.name
            )));
        }
        let size = t
            .shape
            .iter()
            .try_fold(t.dtype.size(), |n, &d| n.checked_mul(d as u64));
        if size != Some(e - s) {
            let needs = match size {
                Some(n) => format!("{n} bytes"),
                None => "more than 2^64 bytes".into(),
            };
            return Err(bad(format!(
                "tensor `{}` has {} bytes (data_offsets [{s}, {e}]), but {} of shape {:?} needs {needs}",
                t.name,
                e - s,
                t.dtype,
                t.shape
            )));
        }
        end = e;
    }
    Ok(Header {
        tensors,
        data_len: end,
    })
}

/// Where the parser is, so that an error names the tensor it is in.
enum Within {
    /// The file's object, between its entries.
    Top,
    /// The value of `__metadata__`.
    Metadata,
    /// The object of the tensor of this name.
    Tensor(String),
    /// Past the [`MAX_TENSORS`]th tensor: stopped there.
    TooMany,
}

/// The file's object: tensors by name, and at most one `__metadata__`. A map visitor of
/// its own rather than a map type, so that a name given twice reaches [`check`] twice
/// instead of the last one silently winning.
struct Tensors<'w> {
    within: &'w mut Within,
}

impl<'de> DeserializeSeed<'de> for Tensors<'_> {
    type Value = Vec<TensorInfo>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Tensors<'_> {
    type Value = Vec<TensorInfo>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of tensors by name")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut tensors = Vec::new();
        let mut metadata = false;
        while let Some(name) = map.next_key::<String>()? {
            if name == "__metadata__" {
                *self.within = Within::Metadata;
                if core::mem::replace(&mut metadata, true) {
                    return Err(de::Error::custom("given twice"));
                }
                // Free-form strings, as the format defines it; `nn` reads none of them.
                map.next_value::<BTreeMap<String, String>>()?;
            } else {
                if tensors.len() == MAX_TENSORS {
                    *self.within = Within::TooMany;
                    return Err(de::Error::custom("too many tensors"));
                }
                *self.within = Within::Tensor(name.clone());
                let raw = map.next_value_seed(ObjectOnly)?;
                let dtype = Dtype::from_name(&raw.dtype).ok_or_else(|| {
                    de::Error::custom(format!(
                        "unknown type `{}`, expected one of {}",
                        raw.dtype,
                        Dtype::ALL.map(Dtype::name).join(", ")
                    ))
                })?;
                tensors.push(TensorInfo {
                    name,
                    dtype,
                    shape: raw.shape,
                    offsets: raw.data_offsets,
                });
            }
            *self.within = Within::Top;
        }
        Ok(tensors)
    }
}

/// A tensor's entry as JSON gives it: each key once, no other key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTensor {
    dtype: String,
    shape: Vec<usize>,
    #[serde(deserialize_with = "start_end")]
    data_offsets: (u64, u64),
}

/// A [`RawTensor`] from a JSON object only: the derived `Deserialize` alone would also
/// take an array of the three values, which is no safetensors header.
struct ObjectOnly;

impl<'de> DeserializeSeed<'de> for ObjectOnly {
    type Value = RawTensor;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawTensor, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectOnly {
    type Value = RawTensor;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of `dtype`, `shape` and `data_offsets`")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawTensor, A::Error> {
        RawTensor::deserialize(MapAccessDeserializer::new(map))
    }
}

/// `[start, end]`.
fn start_end<'de, D: Deserializer<'de>>(d: D) -> Result<(u64, u64), D::Error> {
    let pair = Vec::<u64>::deserialize(d)?;
    match pair[..] {
        [start, end] => Ok((start, end)),
        _ => Err(de::Error::invalid_length(
            pair.len(),
            &"two offsets, `[start, end]`",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(json: &str) -> String {
        match parse_header(json.as_bytes()) {
            Err(FormatError::Header(r)) => r,
            other => panic!("{json}: {other:?}"),
        }
    }

    #[test]
    fn accepts_what_writers_write() {
        let h = parse_header(
            br#"{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},
                "a\u00e9\ud83d\ude00":{"shape":[1,2],"data_offsets":[0,8],"dtype":"F32"}}    "#,
        )
        .unwrap();
        assert_eq!(h.data_len(), 16);
        assert_eq!(h.tensors()[0].name, "a\u{e9}\u{1f600}");
        assert_eq!(parse_header(b"{}").unwrap().data_len(), 0);
    }

    #[test]
    fn refuses_every_inconsistency() {
        let t = |s: &str, o: &str| format!(r#""dtype":"U8","shape":{s},"data_offsets":{o}"#);
        let cases = [
            (
                format!("{{\"a\":{{{}}}}}", t("[4]", "[0,3]")),
                "needs 4 bytes",
            ),
            (
                format!("{{\"a\":{{{}}}}}", t("[4]", "[1,5]")),
                "starts at data byte 1",
            ),
            (
                format!(
                    "{{\"a\":{{{}}},\"b\":{{{}}}}}",
                    t("[4]", "[0,4]"),
                    t("[4]", "[2,6]")
                ),
                "no gap or overlap",
            ),
            (
                format!(
                    "{{\"a\":{{{}}},\"a\":{{{}}}}}",
                    t("[4]", "[0,4]"),
                    t("[4]", "[4,8]")
                ),
                "listed twice",
            ),
            (
                format!("{{\"a\":{{{}}}}}", t("[4294967296,4294967296]", "[0,0]")),
                "more than 2^64",
            ),
            (
                format!("{{\"a\":{{{}}}}}", t("[1]", "[5,4]")),
                "starts at data byte 5",
            ),
            (
                format!("{{\"a\":{{{}}}}}", t("[1]", "[0,18446744073709551616]")),
                "floating point `1.8446744073709552e+19`, expected u64",
            ),
            (
                format!("{{\"a\":{{{}}}}}", t("[1.0]", "[0,1]")),
                "floating point `1.0`, expected usize",
            ),
            (
                format!("{{\"a\":{{{}}}}}", t("[-1]", "[0,1]")),
                "integer `-1`, expected usize",
            ),
            (
                format!("{{\"a\":{{{}}}}}", t("[01]", "[0,1]")),
                "invalid number",
            ),
            (
                format!("{{\"a\":{{{}}}}}", t("[1]", "[0,1,2]")),
                "invalid length 3, expected two offsets",
            ),
            (
                r#"{"a":{"dtype":"F4","shape":[],"data_offsets":[0,1]}}"#.into(),
                "tensor `a`: unknown type `F4`, expected one of BOOL",
            ),
            (
                r#"{"a":{"dtype":"U8","shape":[]}}"#.into(),
                "tensor `a`: missing field `data_offsets`",
            ),
            (
                r#"{"a":{"dtype":"U8","dtype":"U8","shape":[],"data_offsets":[0,1]}}"#.into(),
                "tensor `a`: duplicate field `dtype`",
            ),
            (
                r#"{"a":{"dtype":"U8","shape":[],"data_offsets":[0,1],"x":1}}"#.into(),
                "unknown field `x`",
            ),
            (r#"{"a\ud800":{}}"#.into(), "hex escape"),
            ("{\"a\u{1}\":{}}".into(), "control character"),
            (r#"{} x"#.into(), "trailing characters"),
            (r#"{"a":"#.into(), "tensor `a`: EOF while parsing"),
            ("[[[[[[[[[[[[[[[[".into(), "expected an object of tensors"),
            (
                r#"{"__metadata__":{"a":1}}"#.into(),
                "`__metadata__`: invalid type: integer `1`, expected a string",
            ),
            (
                r#"{"__metadata__":{},"__metadata__":{}}"#.into(),
                "`__metadata__`: given twice",
            ),
            (
                r#"{"__metadata__":null}"#.into(),
                "`__metadata__`: invalid type: null",
            ),
            // The array form that a derived `Deserialize` would take.
            (
                r#"{"a":["U8",[1],[0,1]]}"#.into(),
                "tensor `a`: invalid type: sequence, expected an object",
            ),
            // Nesting stops at the first value of the wrong kind, at any depth.
            (
                format!(
                    r#"{{"a":{{"dtype":"U8","shape":{}}}}}"#,
                    "[".repeat(100_000)
                ),
                "tensor `a`: invalid type: sequence, expected usize",
            ),
            (
                format!(r#"{{"__metadata__":{{"a":{}}}}}"#, "{".repeat(100_000)),
                "`__metadata__`: invalid type: map, expected a string",
            ),
        ];
        for (json, want) in cases {
            let reason = err(&json);
            assert!(reason.contains(want), "{json}: {reason}");
        }
    }

    /// Eight tensors of 2^61 − 1 bytes back to back end past 2^64: an error, no overflow.
    #[test]
    fn offsets_past_2_to_the_64_are_an_error() {
        let n = (1u64 << 61) - 1;
        let mut json = String::from("{");
        for i in 0..9u64 {
            if i > 0 {
                json.push(',');
            }
            let (s, e) = (i.wrapping_mul(n), (i + 1).wrapping_mul(n));
            json += &format!(r#""t{i}":{{"dtype":"U8","shape":[{n}],"data_offsets":[{s},{e}]}}"#);
        }
        json.push('}');
        let _ = err(&json);
    }
}
