//! `Path`: where a module sits in a network, as PyTorch's state-dict keys name it.

use core::fmt;

/// Where a module sits in a network: the names from the outermost module inward, shown
/// joined by dots (`enc.0`, `res1.fc1`), as PyTorch's `state_dict()` keys begin. The
/// network itself is [`Path::ROOT`], shown as nothing.
///
/// A path lives on the stack, each module borrowing its parent's, so walking a network
/// needs no heap.
///
/// ```
/// use nn::Path;
/// let enc = Path::ROOT.child("enc");
/// let layer = enc.child("0");
/// assert_eq!(format!("{layer}"), "enc.0");
/// assert_eq!(layer.strip_prefix_of("enc.0.weight"), Some("weight"));
/// assert_eq!(layer.strip_prefix_of("enc.01.weight"), None);
/// ```
#[derive(Clone, Copy)]
pub struct Path<'a> {
    pub(crate) parent: Option<&'a Path<'a>>,
    pub(crate) name: &'a str,
}

impl Path<'static> {
    /// The network itself: no name.
    pub const ROOT: Path<'static> = Path {
        parent: None,
        name: "",
    };
}

impl<'a> Path<'a> {
    /// The module `name` inside this one.
    pub fn child<'b>(&'b self, name: &'b str) -> Path<'b> {
        Path {
            parent: (!self.is_root()).then_some(self),
            name,
        }
    }

    /// Whether this is the network itself.
    pub const fn is_root(&self) -> bool {
        self.parent.is_none() && self.name.is_empty()
    }

    /// What follows this path and its dot at the start of `key` (`weight` of
    /// `enc.0.weight` under `enc.0`), or `None` when `key` does not start with it. The
    /// root strips nothing.
    pub fn strip_prefix_of<'k>(&self, key: &'k str) -> Option<&'k str> {
        if self.is_root() {
            return Some(key);
        }
        let rest = match self.parent {
            Some(p) => p.strip_prefix_of(key)?,
            None => key,
        };
        rest.strip_prefix(self.name)?.strip_prefix('.')
    }

    /// Whether `key` is this path's tensor `name`: `enc.0` and `weight` are `enc.0.weight`.
    pub fn is_key(&self, name: &str, key: &str) -> bool {
        self.strip_prefix_of(key) == Some(name)
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.parent {
            write!(f, "{p}.")?;
        }
        f.write_str(self.name)
    }
}

impl fmt::Debug for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Path({self})")
    }
}

impl PartialEq<str> for Path<'_> {
    /// Whether the path is shown as `other`: `enc.0` equals `"enc.0"`.
    fn eq(&self, other: &str) -> bool {
        match self.parent {
            None => self.name == other,
            Some(p) => other
                .strip_suffix(self.name)
                .and_then(|rest| rest.strip_suffix('.'))
                .is_some_and(|rest| *p == *rest),
        }
    }
}

impl PartialEq<&str> for Path<'_> {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}
