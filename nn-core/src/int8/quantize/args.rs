//! Reading a layer as declared (`Conv2d<1, 64, (10, 4), stride = 2, padding = same>`) into
//! the int8 geometry.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::int8::{Conv2dShape, Padding};

/// The arguments of a layer as declared (`1, 64, (10, 4), stride = 2`), split at the commas
/// outside parentheses.
pub(super) fn top_level(args: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0usize, 0);
    for (i, c) in args.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(args[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = args[start..].trim();
    if !last.is_empty() {
        out.push(last);
    }
    out
}

/// `3` as `[3, 3]`, `(10, 4)` as `[10, 4]`.
pub(super) fn pair(v: &str) -> Option<[usize; 2]> {
    let v = v.trim();
    match v.strip_prefix('(').and_then(|v| v.strip_suffix(')')) {
        Some(inner) => {
            let (a, b) = inner.split_once(',')?;
            Some([a.trim().parse().ok()?, b.trim().parse().ok()?])
        }
        None => {
            let n = v.parse().ok()?;
            Some([n, n])
        }
    }
}

/// A `Conv2d` as declared: kernel, stride, padding, dilation and groups.
pub(super) struct ConvArgs {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// `None` for `padding = same` (TensorFlow's, the odd row or column after).
    pub pad: Option<[usize; 2]>,
    pub dilation: [usize; 2],
    pub groups: usize,
}

impl ConvArgs {
    pub fn parse(args: &[&str]) -> Result<ConvArgs, String> {
        let kernel = args
            .get(2)
            .and_then(|k| pair(k))
            .ok_or("a kernel that is not read")?;
        let mut conv = ConvArgs {
            kernel,
            stride: [1, 1],
            pad: Some([0, 0]),
            dilation: [1, 1],
            groups: 1,
        };
        for a in args.iter().skip(3) {
            let (k, v) = a
                .split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .unwrap_or((a, ""));
            let bad = || format!("`{a}` is not read");
            match k {
                "stride" => conv.stride = pair(v).ok_or_else(bad)?,
                "padding" if v == "same" => conv.pad = None,
                "padding" => conv.pad = Some(pair(v).ok_or_else(bad)?),
                "dilation" => conv.dilation = pair(v).ok_or_else(bad)?,
                "groups" => conv.groups = v.parse().map_err(|_| bad())?,
                "bias" => {}
                _ => return Err(bad()),
            }
        }
        Ok(conv)
    }

    /// The int8 geometry on an input `[C, H, W]`.
    pub fn shape(&self, input: [usize; 3], out_channels: usize) -> Conv2dShape {
        let dilation = self.dilation;
        match self.pad {
            None => Conv2dShape::tflite(
                input,
                out_channels,
                self.kernel,
                self.stride,
                dilation,
                Padding::Same,
            ),
            Some(pad) => {
                let axis = |i: usize| {
                    let extent = (self.kernel[i] - 1) * self.dilation[i] + 1;
                    (input[i + 1] + 2 * pad[i]).saturating_sub(extent) / self.stride[i] + 1
                };
                Conv2dShape {
                    in_channels: input[0],
                    input: [input[1], input[2]],
                    out_channels,
                    output: [axis(0), axis(1)],
                    kernel: self.kernel,
                    stride: self.stride,
                    dilation,
                    pad,
                }
            }
        }
    }
}
