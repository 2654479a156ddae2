//! Learning-rate schedules: `torch.optim.lr_scheduler`.

/// `torch.optim.lr_scheduler.StepLR`: the learning rate times `gamma` every `step_size`
/// epochs.
///
/// ```
/// use nn_core::optim::StepLr;
/// let s = StepLr { base_lr: 0.1, step_size: 2, gamma: 0.5 };
/// assert_eq!([s.lr(0), s.lr(1), s.lr(2), s.lr(4)], [0.1, 0.1, 0.05, 0.025]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct StepLr {
    /// The learning rate at epoch 0.
    pub base_lr: f32,
    /// Epochs between decays.
    pub step_size: u32,
    /// Factor per decay.
    pub gamma: f32,
}

impl StepLr {
    /// The learning rate for `epoch` (counting from 0).
    pub fn lr(&self, epoch: u32) -> f32 {
        self.base_lr * libm::powf(self.gamma, (epoch / self.step_size.max(1)) as f32)
    }
}

/// `torch.optim.lr_scheduler.CosineAnnealingLR` (its closed form): from `base_lr` down to
/// `eta_min` over `t_max` epochs along half a cosine.
///
/// ```
/// use nn_core::optim::CosineAnnealingLr;
/// let s = CosineAnnealingLr { base_lr: 1.0, t_max: 10, eta_min: 0.0 };
/// assert_eq!(s.lr(0), 1.0);
/// assert!((s.lr(5) - 0.5).abs() < 1e-6);
/// assert!(s.lr(10).abs() < 1e-6);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CosineAnnealingLr {
    /// The learning rate at epoch 0.
    pub base_lr: f32,
    /// Epochs to reach `eta_min`.
    pub t_max: u32,
    /// The lowest learning rate.
    pub eta_min: f32,
}

impl CosineAnnealingLr {
    /// The learning rate for `epoch` (counting from 0).
    pub fn lr(&self, epoch: u32) -> f32 {
        let phase = core::f64::consts::PI * epoch as f64 / self.t_max.max(1) as f64;
        let c = (1.0 + libm::cos(phase)) / 2.0;
        (self.eta_min as f64 + (self.base_lr - self.eta_min) as f64 * c) as f32
    }
}
