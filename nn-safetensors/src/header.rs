//! The JSON header: parsed by a reader that knows its three levels (the file's object,
//! each tensor's object, the shape and offset arrays), then checked as a whole.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::{Dtype, FormatError};

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
/// strings, is read and ignored.
///
/// ```
/// let h = nn_safetensors::parse_header(br#"{"b":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}  "#)?;
/// assert_eq!(h.data_len(), 8);
/// assert!(nn_safetensors::parse_header(br#"{"b":{"dtype":"I64","shape":[2],"data_offsets":[0,8]}}"#).is_err());
/// # Ok::<(), nn_safetensors::FormatError>(())
/// ```
pub fn parse_header(json: &[u8]) -> Result<Header, FormatError> {
    let mut p = Parser { s: json, at: 0 };
    let mut tensors = Vec::new();
    let mut metadata = false;
    p.object(|p, key| {
        if key == "__metadata__" {
            if metadata {
                return Err(p.error("`__metadata__` is given twice"));
            }
            metadata = true;
            return p.object(|p, _| p.string().map(drop));
        }
        let info = p.tensor(key)?;
        tensors.push(info);
        Ok(())
    })?;
    p.skip_ws();
    if p.at != json.len() {
        return Err(p.error("text after the header's object"));
    }
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

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> FormatError {
        bad(format!("header byte {}: {what}", self.at))
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte after spaces, consumed if it is `b`.
    fn eat(&mut self, b: u8) -> bool {
        self.skip_ws();
        if self.s.get(self.at) == Some(&b) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), FormatError> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.error(&format!("expected `{}`", b as char)))
        }
    }

    /// `{ "key": value, ... }`, calling `value` after each key's colon.
    fn object(
        &mut self,
        mut value: impl FnMut(&mut Self, String) -> Result<(), FormatError>,
    ) -> Result<(), FormatError> {
        self.expect(b'{')?;
        if self.eat(b'}') {
            return Ok(());
        }
        loop {
            let key = self.string()?;
            self.expect(b':')?;
            value(self, key)?;
            if self.eat(b'}') {
                return Ok(());
            }
            self.expect(b',')?;
        }
    }

    /// `[ n, ... ]` of unsigned integers.
    fn numbers(&mut self) -> Result<Vec<u64>, FormatError> {
        self.expect(b'[')?;
        let mut out = Vec::new();
        if self.eat(b']') {
            return Ok(out);
        }
        loop {
            out.push(self.number()?);
            if self.eat(b']') {
                return Ok(out);
            }
            self.expect(b',')?;
        }
    }

    /// An unsigned integer below 2^64, written as JSON writes it.
    fn number(&mut self) -> Result<u64, FormatError> {
        self.skip_ws();
        let start = self.at;
        let mut n = 0u64;
        while let Some(&d @ b'0'..=b'9') = self.s.get(self.at) {
            if self.at > start && n == 0 {
                return Err(self.error("a number with a leading zero"));
            }
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
                .ok_or_else(|| self.error("a number of 2^64 or more"))?;
            self.at += 1;
        }
        if self.at == start {
            return Err(self.error("expected an unsigned integer"));
        }
        if let Some(b'.' | b'e' | b'E') = self.s.get(self.at) {
            return Err(self.error("expected an integer, found a fraction or exponent"));
        }
        Ok(n)
    }

    /// A JSON string, escapes decoded.
    fn string(&mut self) -> Result<String, FormatError> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.s.get(self.at) else {
                return Err(self.error("a string without its closing quote"));
            };
            self.at += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.at) else {
                        return Err(self.error("a string without its closing quote"));
                    };
                    self.at += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(self.error("an unknown escape in a string")),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                0..=0x1f => return Err(self.error("a control character in a string")),
                _ => out.push(b),
            }
        }
        String::from_utf8(out).map_err(|_| self.error("a string that is not UTF-8"))
    }

    /// The character of `\uXXXX` (the `\u` consumed), a surrogate pair read whole.
    fn unicode_escape(&mut self) -> Result<char, FormatError> {
        let hi = self.hex4()?;
        let code = if (0xd800..0xdc00).contains(&hi) {
            if self.s.get(self.at..self.at + 2) != Some(b"\\u") {
                return Err(self.error("a lone surrogate in a `\\u` escape"));
            }
            self.at += 2;
            let lo = self.hex4()?;
            if !(0xdc00..0xe000).contains(&lo) {
                return Err(self.error("a lone surrogate in a `\\u` escape"));
            }
            0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
        } else {
            hi
        };
        char::from_u32(code).ok_or_else(|| self.error("a lone surrogate in a `\\u` escape"))
    }

    fn hex4(&mut self) -> Result<u32, FormatError> {
        let digits = self
            .s
            .get(self.at..self.at + 4)
            .and_then(|h| core::str::from_utf8(h).ok())
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| self.error("a `\\u` escape without four hex digits"))?;
        self.at += 4;
        Ok(digits)
    }

    /// `{"dtype": .., "shape": [..], "data_offsets": [s, e]}`, each key once.
    fn tensor(&mut self, name: String) -> Result<TensorInfo, FormatError> {
        let (mut dtype, mut shape, mut offsets) = (None, None, None);
        self.object(|p, key| {
            let twice = || bad(format!("tensor `{name}`: `{key}` is given twice"));
            match key.as_str() {
                "dtype" => {
                    let at = p.at;
                    let text = p.string()?;
                    let d = Dtype::from_name(&text).ok_or_else(|| {
                        bad(format!(
                            "header byte {at}: tensor `{name}` has the unknown type `{text}`"
                        ))
                    })?;
                    if dtype.replace(d).is_some() {
                        return Err(twice());
                    }
                }
                "shape" => {
                    let dims = p.numbers()?;
                    let dims: Option<Vec<usize>> =
                        dims.into_iter().map(|d| usize::try_from(d).ok()).collect();
                    let dims = dims.ok_or_else(|| p.error("a dimension too large for memory"))?;
                    if shape.replace(dims).is_some() {
                        return Err(twice());
                    }
                }
                "data_offsets" => {
                    let pair = match p.numbers()?[..] {
                        [s, e] => (s, e),
                        _ => return Err(p.error("`data_offsets` needs two numbers")),
                    };
                    if offsets.replace(pair).is_some() {
                        return Err(twice());
                    }
                }
                _ => {
                    return Err(p.error(&format!("tensor `{name}`: unknown key `{key}`")));
                }
            }
            Ok(())
        })?;
        let missing = |what| bad(format!("tensor `{name}` has no `{what}`"));
        Ok(TensorInfo {
            dtype: dtype.ok_or_else(|| missing("dtype"))?,
            shape: shape.ok_or_else(|| missing("shape"))?,
            offsets: offsets.ok_or_else(|| missing("data_offsets"))?,
            name,
        })
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
                "2^64 or more",
            ),
            (format!("{{\"a\":{{{}}}}}", t("[1.0]", "[0,1]")), "fraction"),
            (
                format!("{{\"a\":{{{}}}}}", t("[-1]", "[0,1]")),
                "unsigned integer",
            ),
            (
                format!("{{\"a\":{{{}}}}}", t("[01]", "[0,1]")),
                "leading zero",
            ),
            (
                format!("{{\"a\":{{{}}}}}", t("[1]", "[0,1,2]")),
                "two numbers",
            ),
            (
                r#"{"a":{"dtype":"F4","shape":[],"data_offsets":[0,1]}}"#.into(),
                "unknown type `F4`",
            ),
            (
                r#"{"a":{"dtype":"U8","shape":[]}}"#.into(),
                "no `data_offsets`",
            ),
            (
                r#"{"a":{"dtype":"U8","dtype":"U8","shape":[],"data_offsets":[0,1]}}"#.into(),
                "given twice",
            ),
            (
                r#"{"a":{"dtype":"U8","shape":[],"data_offsets":[0,1],"x":1}}"#.into(),
                "unknown key",
            ),
            (r#"{"a\ud800":{}}"#.into(), "surrogate"),
            ("{\"a\u{1}\":{}}".into(), "control character"),
            (r#"{} x"#.into(), "text after"),
            (r#"{"a":"#.into(), "expected `{`"),
            ("[[[[[[[[[[[[[[[[".into(), "expected `{`"),
            (r#"{"__metadata__":{"a":1}}"#.into(), "expected `\"`"),
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
