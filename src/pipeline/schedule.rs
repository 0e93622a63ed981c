//! Which network runs on which slices, and in what order: one [`Plan`] that the native
//! driver ([`predict_all`]) and the browser's asynchronous driver both execute, so the
//! WM-then-WMH logic exists once.

use std::collections::VecDeque;
use std::ops::Range;

use burn::prelude::*;

use super::{Inputs, Network, Networks, Options, Region, Segmentation, SliceStack};
use crate::model::Symmetries;

/// Progress of a segmentation, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// WMH network, slices done of total.
    Wmh(usize, usize),
    /// WM network, slices done of total.
    Wm(usize, usize),
}

impl Stage {
    /// The network's name, for progress messages.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Wmh(..) => "WMH network",
            Stage::Wm(..) => "WM network",
        }
    }

    /// Slices done and in all.
    pub fn counts(self) -> (usize, usize) {
        match self {
            Stage::Wmh(done, todo) | Stage::Wm(done, todo) => (done, todo),
        }
    }
}

/// Per-slice network outputs (padded planes) of both networks, and the filter region
/// the WM planes give.
#[derive(Debug, Clone)]
pub struct Planes {
    /// WMH probabilities, one plane per canonical slice (zero where the network did not
    /// run, see [`Coverage`]).
    pub wmh: Vec<Vec<f32>>,
    /// WM probabilities, when a T1 and a WM network were given and the filter is on.
    pub wm: Option<Vec<Vec<f32>>>,
    /// The filter region from `wm` ([`Inputs::region`]).
    pub region: Option<Region>,
}

/// Which slices the networks run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Only where the result can differ from zero: the WM network in slices holding
    /// brain ([`Inputs::wm_slices`]), the WMH network where the WM filter keeps
    /// anything ([`Inputs::wmh_slices`]). The result is the same, and slices above
    /// and below the brain cost nothing.
    Needed,
    /// Every slice, for scoring the WMH network without the filter (and the WM
    /// network's raw output).
    Every,
}

/// The batches (at most `batch` slices, never across a skipped slice) that cover the
/// slices marked in `needed`, in order.
pub fn batches(needed: &[bool], batch: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut z = 0;
    while z < needed.len() {
        if !needed[z] {
            z += 1;
            continue;
        }
        let mut end = z + 1;
        while end < needed.len() && needed[end] && end - z < batch.max(1) {
            end += 1;
        }
        out.push(z..end);
        z = end;
    }
    out
}

/// One network pass of a [`Plan`]: `network` on slices `slices` of `stack`.
#[derive(Debug)]
pub struct Job<'a> {
    /// The network to run.
    pub network: &'a Network,
    /// The slices it reads.
    pub stack: &'a SliceStack,
    /// The batch of slices, consecutive.
    pub slices: Range<usize>,
    /// In-plane symmetries its probabilities are averaged over.
    pub symmetries: Symmetries,
    wm: bool,
}

/// The order in which both networks run over a case: the WM network first, on the
/// slices holding brain, so that the WMH network then runs only where the filter keeps
/// anything (per [`Coverage`]). The native driver ([`predict_all`]) and the browser's
/// asynchronous one execute the same plan: take [`Plan::next_job`], run it, hand the planes
/// to [`Plan::deliver`], until no job is left, then [`Plan::finish`].
#[derive(Debug)]
pub struct Plan<'a> {
    inputs: &'a Inputs,
    networks: &'a Networks,
    options: Options,
    coverage: Coverage,
    batch: usize,
    /// Whether the WM network's jobs are the ones queued.
    wm_step: bool,
    queue: VecDeque<Range<usize>>,
    todo: usize,
    done: usize,
    wm: Option<Vec<Vec<f32>>>,
    wmh: Vec<Vec<f32>>,
    region: Option<Region>,
}

impl<'a> Plan<'a> {
    /// Plans both networks over `inputs` in batches of at most `batch` slices.
    pub fn new(
        inputs: &'a Inputs,
        networks: &'a Networks,
        options: &Options,
        coverage: Coverage,
        batch: usize,
    ) -> Self {
        let mut plan = Self {
            inputs,
            networks,
            options: *options,
            coverage,
            batch,
            wm_step: false,
            queue: VecDeque::new(),
            todo: 0,
            done: 0,
            wm: None,
            wmh: Vec::new(),
            region: None,
        };
        match (&networks.wm, &inputs.t1, options.wm_filter) {
            (Some(_), Some(stack), true) => {
                let needed = match coverage {
                    Coverage::Needed => inputs.wm_slices(),
                    Coverage::Every => vec![true; stack.slices()],
                };
                plan.wm = Some(zero_planes(stack));
                plan.wm_step = true;
                plan.enqueue(&needed);
            }
            _ => plan.start_wmh(),
        }
        plan
    }

    fn enqueue(&mut self, needed: &[bool]) {
        self.queue = batches(needed, self.batch).into();
        self.todo = needed.iter().filter(|&&n| n).count();
        self.done = 0;
    }

    /// The WM network is done: its region decides where the WMH network runs.
    fn start_wmh(&mut self) {
        self.wm_step = false;
        self.region = self.inputs.region(self.wm.as_deref(), &self.options);
        let needed = match self.coverage {
            Coverage::Needed => self.inputs.wmh_slices(self.region.as_ref()),
            Coverage::Every => vec![true; self.inputs.flair.slices()],
        };
        self.wmh = zero_planes(&self.inputs.flair);
        self.enqueue(&needed);
    }

    /// The next network pass, or `None` when both networks are done.
    pub fn next_job(&mut self) -> Option<Job<'a>> {
        if self.queue.is_empty() && self.wm_step {
            self.start_wmh();
        }
        let slices = self.queue.pop_front()?;
        let (network, stack, symmetries) = match (self.wm_step, &self.networks.wm, &self.inputs.t1)
        {
            (true, Some(net), Some(t1)) => (net, t1, Symmetries::One),
            _ => (
                &self.networks.wmh,
                &self.inputs.flair,
                self.options.symmetries,
            ),
        };
        Some(Job {
            network,
            stack,
            slices,
            symmetries,
            wm: self.wm_step,
        })
    }

    /// Stores a job's planes (one per slice) and says how far its network has come.
    pub fn deliver(&mut self, job: &Job, planes: Vec<Vec<f32>>) -> Stage {
        let target = match (job.wm, self.wm.as_mut()) {
            (true, Some(wm)) => wm,
            _ => &mut self.wmh,
        };
        for (z, p) in job.slices.clone().zip(planes) {
            target[z] = p;
        }
        self.done += job.slices.len();
        if job.wm {
            Stage::Wm(self.done, self.todo)
        } else {
            Stage::Wmh(self.done, self.todo)
        }
    }

    /// Both networks' planes (zero where they did not run) and the filter region.
    pub fn finish(mut self) -> Planes {
        if self.wm_step {
            self.start_wmh();
        }
        Planes {
            wmh: self.wmh,
            wm: self.wm,
            region: self.region,
        }
    }
}

fn zero_planes(stack: &SliceStack) -> Vec<Vec<f32>> {
    vec![vec![0.0; stack.plane.px * stack.plane.py]; stack.slices()]
}

/// Executes a [`Plan`] synchronously, reporting progress after each batch.
pub fn predict_all(
    inputs: &Inputs,
    networks: &Networks,
    device: &Device,
    options: &Options,
    coverage: Coverage,
    batch: usize,
    progress: &mut dyn FnMut(Stage),
) -> Planes {
    let mut plan = Plan::new(inputs, networks, options, coverage, batch);
    while let Some(job) = plan.next_job() {
        let planes = job
            .network
            .predict(job.stack, job.slices.clone(), job.symmetries, device);
        progress(plan.deliver(&job, planes));
    }
    plan.finish()
}

/// Runs both networks and finishes the segmentation.
pub fn run(
    inputs: &Inputs,
    networks: &Networks,
    device: &Device,
    options: &Options,
    batch: usize,
    progress: &mut dyn FnMut(Stage),
) -> Segmentation {
    let planes = predict_all(
        inputs,
        networks,
        device,
        options,
        Coverage::Needed,
        batch,
        progress,
    );
    inputs.finish(&planes.wmh, planes.region.as_ref(), options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Preparation;
    use crate::pipeline::fixtures::tiny_pair;

    #[test]
    fn symmetries_average_the_wmh_network_only() {
        let device = Device::flex();
        let case = crate::phantom::example();
        let inputs = Inputs::prepare(case.flair, Some(&case.t1), Preparation::default()).unwrap();
        let networks = tiny_pair(&device);
        let planes = |symmetries| {
            let options = Options {
                symmetries,
                ..Options::default()
            };
            predict_all(
                &inputs,
                &networks,
                &device,
                &options,
                Coverage::Every,
                4,
                &mut |_| {},
            )
        };
        let (one, eight) = (planes(Symmetries::One), planes(Symmetries::Eight));
        assert_eq!(one.wm, eight.wm);
        assert_eq!(one.wmh.len(), eight.wmh.len());
        assert_ne!(one.wmh, eight.wmh);
        // The average of probabilities is a probability.
        assert!(eight.wmh.iter().flatten().all(|p| (0.0..=1.0).contains(p)));
    }

    #[test]
    fn batches_cover_the_needed_slices_without_crossing_a_gap() {
        let needed = [
            false, true, true, true, false, true, false, false, true, true,
        ];
        assert_eq!(batches(&needed, 2), vec![1..3, 3..4, 5..6, 8..10]);
        assert_eq!(batches(&needed, 0), batches(&needed, 1));
        assert_eq!(batches(&needed, 9), vec![1..4, 5..6, 8..10]);
        assert!(batches(&[false; 3], 4).is_empty());
    }

    #[test]
    fn skipping_slices_the_filter_empties_changes_no_output() {
        let device = Device::flex();
        // Thin slices over a taller field than the head, so some slices hold no brain.
        let affine = [
            [1.0, 0.0, 0.0, -32.0],
            [0.0, 1.0, 0.0, -32.0],
            [0.0, 0.0, 4.0, -100.0],
        ];
        let case = crate::phantom::generate([64, 64, 50], affine, 3);
        let inputs = Inputs::prepare(case.flair, Some(&case.t1), Preparation::default()).unwrap();
        let networks = tiny_pair(&device);
        let options = Options {
            threshold: 0.3,
            ..Options::default()
        };
        let planes = |coverage| {
            predict_all(
                &inputs,
                &networks,
                &device,
                &options,
                coverage,
                3,
                &mut |_| {},
            )
        };
        let (every, needed) = (planes(Coverage::Every), planes(Coverage::Needed));
        let brain = inputs.wm_slices();
        assert!(brain.contains(&false) && brain.contains(&true), "{brain:?}");
        let (every_wm, needed_wm) = (every.wm.as_ref().unwrap(), needed.wm.as_ref().unwrap());
        for (z, &b) in brain.iter().enumerate() {
            if b {
                assert_eq!(every_wm[z], needed_wm[z], "slice {z}");
            } else {
                assert!(needed_wm[z].iter().all(|&p| p == 0.0), "slice {z}");
            }
        }
        assert_eq!(every.region, needed.region);
        let kept = inputs.wmh_slices(every.region.as_ref());
        assert!((kept.iter().zip(&brain)).all(|(&k, &b)| b || !k));
        for (z, &k) in kept.iter().enumerate() {
            if k {
                assert_eq!(every.wmh[z], needed.wmh[z], "slice {z}");
            } else {
                assert!(needed.wmh[z].iter().all(|&p| p == 0.0), "slice {z}");
                assert!(every.wmh[z].iter().any(|&p| p > 0.0), "slice {z}");
            }
        }
        let a = inputs.finish(&every.wmh, every.region.as_ref(), &options);
        let b = inputs.finish(&needed.wmh, needed.region.as_ref(), &options);
        assert_eq!(a.probability, b.probability);
        assert_eq!(a.mask, b.mask);
        assert_eq!(a.wm_region, b.wm_region);
        // Without the filter every slice is needed.
        let off = Options {
            wm_filter: false,
            ..options
        };
        assert!(inputs.region(every.wm.as_deref(), &off).is_none());
        assert!(inputs.wmh_slices(None).iter().all(|&k| k));
    }
}
