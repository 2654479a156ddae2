//! Optimizer and loss settings: builders in any order, every invalid setting reported by
//! `check()` and, at the latest, by the first `step` or `loss`, before anything changes.

use nn::loss::{CrossEntropyLoss, Loss};
use nn::optim::{Adam, Optimizer, Sgd};
use nn::{Gradients, SettingError};

nn::network! { struct Tiny<Linear<2, 2>> }

/// One step of `opt` on a fresh network with gradient 1 everywhere: the panic message if
/// it panics, and whether the parameters stayed as they were.
fn step_outcome(mut opt: impl Optimizer + std::panic::UnwindSafe) -> (Option<String>, bool) {
    let mut net = Tiny::new(0);
    let before = net.0.weight;
    let mut grads = Gradients::<Tiny>::new();
    grads.as_mut_slice().fill(1.0);
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| opt.step(&mut *net, &grads)));
    let message = result.err().map(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    });
    (message, net.0.weight == before)
}

#[test]
fn nesterov_may_come_before_momentum() {
    let a = Sgd::new(0.1).nesterov(true).momentum(0.9);
    let b = Sgd::new(0.1).momentum(0.9).nesterov(true);
    assert_eq!(a.check(), Ok(()));
    assert_eq!((a.momentum, a.nesterov), (b.momentum, b.nesterov));
    let (panic, _) = step_outcome(a);
    assert_eq!(panic, None);
}

#[test]
fn nesterov_without_momentum_is_reported_by_check_and_step() {
    for opt in [
        Sgd::new(0.1).nesterov(true),
        Sgd::new(0.1).momentum(0.9).nesterov(true).momentum(0.0),
        Sgd::new(0.1).nesterov(true).momentum(0.9).dampening(0.5),
    ] {
        assert!(
            matches!(opt.check(), Err(SettingError::Nesterov { .. })),
            "{opt:?}"
        );
        let (panic, unchanged) = step_outcome(opt);
        assert!(panic
            .unwrap()
            .contains("nesterov momentum requires a momentum"));
        assert!(unchanged, "a refused step changes nothing");
    }
}

#[test]
fn negative_or_nan_numbers_are_refused_whatever_the_order() {
    let bad_sgd = [
        (Sgd::new(-0.1), "lr"),
        (Sgd::new(f32::NAN), "lr"),
        (Sgd::new(0.1).momentum(-0.5), "momentum"),
        (
            Sgd::new(0.1).weight_decay(-1.0).momentum(0.9),
            "weight_decay",
        ),
        (Sgd::new(0.1).momentum(f32::NAN), "momentum"),
    ];
    for (opt, setting) in bad_sgd {
        match opt.check() {
            Err(SettingError::OutOfRange {
                owner: "Sgd",
                setting: s,
                ..
            }) => assert_eq!(s, setting),
            other => panic!("{opt:?}: {other:?}"),
        }
        let (panic, unchanged) = step_outcome(opt);
        assert!(panic.unwrap().contains(&format!("`{setting}`")));
        assert!(unchanged);
    }
    let bad_adam = [
        (Adam::new(-1e-3), "lr"),
        (Adam::new(f32::NAN), "lr"),
        (Adam::new(1e-3).betas(1.0, 0.999), "betas.0"),
        (Adam::new(1e-3).betas(0.9, -0.1), "betas.1"),
        (Adam::new(1e-3).eps(-1.0), "eps"),
        (Adam::adamw(1e-3).weight_decay(-0.01), "weight_decay"),
    ];
    for (opt, setting) in bad_adam {
        match opt.check() {
            Err(SettingError::OutOfRange {
                owner: "Adam",
                setting: s,
                ..
            }) => assert_eq!(s, setting),
            other => panic!("{opt:?}: {other:?}"),
        }
        let (panic, unchanged) = step_outcome(opt);
        assert!(panic.unwrap().contains(&format!("`{setting}`")));
        assert!(unchanged);
    }
}

/// A learning rate set later (by a schedule) is checked by the next step too.
#[test]
fn a_negative_learning_rate_set_later_is_refused_at_the_step() {
    let mut opt = Sgd::new(0.1);
    opt.set_lr(-0.1);
    let (panic, unchanged) = step_outcome(opt);
    assert!(panic
        .unwrap()
        .contains("Sgd: `lr` is -0.1, but it must be >= 0"));
    assert!(unchanged);
}

#[test]
fn label_smoothing_outside_0_1_or_nan_is_refused() {
    for eps in [-0.1, 1.5, f32::NAN, f32::INFINITY] {
        let loss = CrossEntropyLoss {
            label_smoothing: eps,
        };
        assert!(loss.check().is_err(), "{eps}");
        let call = std::panic::catch_unwind(|| loss.loss(&[0.0, 0.0], 2, &[1usize][..], None));
        assert!(call.is_err(), "{eps}");
    }
    for eps in [0.0, 0.1, 1.0] {
        let loss = CrossEntropyLoss {
            label_smoothing: eps,
        };
        assert_eq!(loss.check(), Ok(()));
        assert!((loss.loss(&[0.0, 0.0], 2, &[1usize][..], None) - 2f32.ln()).abs() < 1e-6);
    }
}

#[test]
fn the_message_names_the_setting_and_its_range() {
    let e = Adam::new(1e-3).betas(0.9, 1.0).check().unwrap_err();
    assert_eq!(
        e.to_string(),
        "Adam: `betas.1` is 1, but it must be in [0, 1)"
    );
}
