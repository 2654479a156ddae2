//! Checkpoints: a [`StateDict`] (weights, optimizer, schedule, data loader) as one
//! safetensors file.

use std::path::Path;
use std::string::ToString;
use std::vec::Vec;

use nn_safetensors::{Dtype, File};

use super::{format_error, read_file, write_file, Entry, WeightsError};
use crate::{StateDict, StateTensor, StateValue};

/// Saves `state` to `path` as safetensors, with its names, shapes and element types
/// (`F32`, `F64`, `I64`), in the same atomic way as [`save`](super::save): a temporary
/// file renamed into place, so a failed save leaves the previous checkpoint whole.
///
/// A checkpoint is a [`StateDict`] gathered from what training needs to resume:
///
/// ```
/// use nn::optim::{Adam, LinearLr, LrSchedule, Optimizer};
/// nn::network! { struct Net<fc1: Linear<3, 2>> }
/// let path = std::env::temp_dir().join(format!("nn-doc-ckpt-{}.safetensors", std::process::id()));
/// let (net, opt, warmup) = (Net::new(0), Adam::new(1e-3), LinearLr::new(1e-3));
///
/// let mut ckpt = nn::StateDict::new();
/// ckpt.add_network(&*net);
/// opt.save_state(&*net, &mut ckpt);
/// warmup.save_state(&mut ckpt);
/// ckpt.insert_i64("step", 0); // anything else the loop needs
/// nn::io::save_state(&ckpt, &path)?;
///
/// // Later, in another process: the same objects, built afresh, then loaded.
/// let (mut net, mut opt, mut warmup) = (Net::new(1), Adam::new(1e-3), LinearLr::new(1e-3));
/// let ckpt = nn::io::load_state(&path)?;
/// ckpt.load_network(&mut *net)?;
/// opt.load_state(&*net, &ckpt)?;
/// warmup.load_state(&ckpt)?;
/// assert_eq!(ckpt.i64("step")?, 0);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save_state(state: &StateDict, path: impl AsRef<Path>) -> Result<(), WeightsError> {
    let entries: Vec<Entry> = state
        .iter()
        .map(|(key, t)| {
            let (dtype, bytes) = match &t.value {
                StateValue::F32(v) => {
                    (Dtype::F32, v.iter().flat_map(|x| x.to_le_bytes()).collect())
                }
                StateValue::F64(v) => {
                    (Dtype::F64, v.iter().flat_map(|x| x.to_le_bytes()).collect())
                }
                StateValue::I64(v) => {
                    (Dtype::I64, v.iter().flat_map(|x| x.to_le_bytes()).collect())
                }
            };
            Entry {
                key: key.to_string(),
                dtype,
                shape: t.shape.clone(),
                bytes,
            }
        })
        .collect();
    write_file(path.as_ref(), &entries)
}

/// Reads a checkpoint that [`save_state`] wrote (or any safetensors file of `F32`, `F64`
/// and `I64` tensors) with the checks of [`load`](super::load). The state dict's errors
/// then name `path` and the tensor.
pub fn load_state(path: impl AsRef<Path>) -> Result<StateDict, WeightsError> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    let file = File::parse(&bytes).map_err(|e| format_error(path, e))?;
    let mut state = StateDict::with_origin(path.display().to_string());
    for t in file.tensors() {
        let words = |n: usize| t.data().chunks_exact(n);
        let value = match t.dtype() {
            Dtype::F32 => StateValue::F32(
                words(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ),
            Dtype::F64 => StateValue::F64(words(8).map(|b| f64::from_le_bytes(eight(b))).collect()),
            Dtype::I64 => StateValue::I64(words(8).map(|b| i64::from_le_bytes(eight(b))).collect()),
            other => {
                return Err(WeightsError::Dtype {
                    path: path.to_path_buf(),
                    tensor: t.name().to_string(),
                    expected: "F32, F64 or I64".to_string(),
                    found: other.to_string(),
                })
            }
        };
        state.insert(
            t.name(),
            StateTensor {
                shape: t.shape().to_vec(),
                value,
            },
        );
    }
    Ok(state)
}

fn eight(b: &[u8]) -> [u8; 8] {
    let mut out = [0; 8];
    out.copy_from_slice(b);
    out
}
