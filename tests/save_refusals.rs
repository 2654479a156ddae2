//! What `save` refuses to write, and what it leaves alone beside the file it writes.

#[path = "common/visits_twice.rs"]
mod visits_twice;

use std::path::PathBuf;

use nn::io::WeightsError;
use nn::Zeroable;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nn-save-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A network whose state names one tensor twice (built without `new`, which refuses it)
/// is an error at `save`, not a panic, and no file is written.
#[test]
fn a_state_that_names_a_tensor_twice_is_an_error_at_save() {
    nn::network! { struct WithTwice { fc: Linear<2, 1>, odd: visits_twice::VisitsTwice } }
    let net = Box::new(WithTwice::zeroed());
    let dir = temp_dir("twice");
    let path = dir.join("twice.safetensors");
    let err = nn::io::save(&*net, &path).unwrap_err();
    assert!(
        matches!(&err, WeightsError::Unwritable { path: p, tensor, .. } if *p == path && tensor == "odd.weight"),
        "{err}"
    );
    assert!(err.to_string().contains("named twice"), "{err}");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "nothing written"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Files that happen to have the temporary names a save would pick (this process's own
/// naming, `.{file}.{pid}.{n}.tmp`, for every `n` this binary's only saving test reaches)
/// are skipped, never truncated or removed, and the save still succeeds.
#[test]
fn save_leaves_files_of_its_temporary_names_alone() {
    nn::network! { struct Net<fc1: Linear<3, 4>, act: ReLU, fc2: Linear<4, 2>> }
    let dir = temp_dir("taken");
    let path = dir.join("w.safetensors");
    let pid = std::process::id();
    let theirs: Vec<PathBuf> = (0..32)
        .map(|n| dir.join(format!(".w.safetensors.{pid}.{n}.tmp")))
        .collect();
    for p in &theirs {
        std::fs::write(p, b"someone else's").unwrap();
    }
    let net = Net::new(0);
    nn::io::save(&*net, &path).unwrap();
    for p in &theirs {
        assert_eq!(
            std::fs::read(p).unwrap(),
            b"someone else's",
            "{}",
            p.display()
        );
    }
    let mut back = Net::new(1);
    nn::io::load(&mut *back, &path).unwrap();
    assert_eq!(back.fc1.weight, net.fc1.weight);
    // Only the saved file was added.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), theirs.len() + 1);
    std::fs::remove_dir_all(&dir).unwrap();
}
