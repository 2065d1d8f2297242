//! The non-heap analyses' files ordered as a time series (they are read by
//! [`inputs::evidence`](crate::inputs::evidence)); and the shared [`Series`] (what charts are drawn
//! from) and [`Growth`] (does a series grow, and how fast).
//!
//! Order: by a timestamp in the content when every file has one (jstat `-t`, GC and class logs), else by
//! the files' modification times when every file has one, else by name. Ties go by name, so the order is
//! deterministic.

use serde::Serialize;

/// Where a series' times come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    /// Timestamps in the files (seconds of JVM uptime, or wall clock).
    Content,
    /// The files' modification times.
    Mtime,
    /// No times: the files' order by name; `t` is the position.
    Name,
}

/// What orders one file in a series.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderKey {
    pub content: Option<f64>,
    pub mtime: Option<f64>,
    pub name: String,
}

/// Orders files: returns the permutation (indices into `keys`, first to last), the time source and each
/// file's time in seconds (relative to the first file for `Content`/`Mtime`, the position for `Name`).
pub fn order(keys: &[OrderKey]) -> (Vec<usize>, TimeSource, Vec<f64>) {
    let finite = |v: Option<f64>| v.filter(|x| x.is_finite());
    let source = if !keys.is_empty() && keys.iter().all(|k| finite(k.content).is_some()) {
        TimeSource::Content
    } else if !keys.is_empty() && keys.iter().all(|k| finite(k.mtime).is_some()) {
        TimeSource::Mtime
    } else {
        TimeSource::Name
    };
    let time = |k: &OrderKey| match source {
        TimeSource::Content => finite(k.content).unwrap_or(0.0),
        TimeSource::Mtime => finite(k.mtime).unwrap_or(0.0),
        TimeSource::Name => 0.0,
    };
    let mut idx: Vec<usize> = (0..keys.len()).collect();
    idx.sort_by(|&a, &b| {
        time(&keys[a])
            .total_cmp(&time(&keys[b]))
            .then_with(|| keys[a].name.cmp(&keys[b].name))
            .then_with(|| {
                keys[a]
                    .content
                    .unwrap_or(f64::NEG_INFINITY)
                    .total_cmp(&keys[b].content.unwrap_or(f64::NEG_INFINITY))
            })
            .then_with(|| {
                keys[a]
                    .mtime
                    .unwrap_or(f64::NEG_INFINITY)
                    .total_cmp(&keys[b].mtime.unwrap_or(f64::NEG_INFINITY))
            })
            .then(a.cmp(&b))
    });
    let t0 = idx.first().map(|&i| time(&keys[i])).unwrap_or(0.0);
    let times = idx
        .iter()
        .enumerate()
        .map(|(pos, &i)| {
            if source == TimeSource::Name {
                pos as f64
            } else {
                time(&keys[i]) - t0
            }
        })
        .collect();
    (idx, source, times)
}

/// A time series, as charts want it: `t` in seconds from the first point, `v` in `unit`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Series {
    /// e.g. `nmt: Class committed`, `gclog: heap after full GC`.
    pub name: String,
    /// `bytes`, `count` or `percent`.
    pub unit: &'static str,
    pub time_source: TimeSource,
    pub t: Vec<f64>,
    pub v: Vec<f64>,
    /// The series grows (see [`Growth`]): charts highlight it.
    pub growing: bool,
}

impl Series {
    pub fn new(
        name: impl Into<String>,
        unit: &'static str,
        time_source: TimeSource,
        points: &[(f64, f64)],
    ) -> Series {
        Series {
            name: name.into(),
            unit,
            time_source,
            t: points.iter().map(|p| p.0).collect(),
            v: points.iter().map(|p| p.1).collect(),
            growing: false,
        }
    }
    pub fn points(&self) -> Vec<(f64, f64)> {
        self.t.iter().copied().zip(self.v.iter().copied()).collect()
    }
}

/// How a series changed from its first to its last point.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Growth {
    pub first: f64,
    pub last: f64,
    pub delta: f64,
    /// Change per hour, when the points have real times.
    pub per_hour: Option<f64>,
    /// Steps that went up, out of `steps`.
    pub rising_steps: usize,
    pub steps: usize,
    /// Grew by at least the minimum, in most steps: a leak candidate.
    pub growing: bool,
}

/// The growth of `points` (time, value); `growing` needs `delta >= min_abs`, `delta >= min_rel * first`,
/// and at least 60% of the steps rising (one noisy step does not make a leak, nor does one dip hide it).
pub fn growth(points: &[(f64, f64)], real_times: bool, min_abs: f64, min_rel: f64) -> Growth {
    let (Some(f), Some(l)) = (points.first(), points.last()) else {
        return Growth::default();
    };
    let steps = points.len().saturating_sub(1);
    let rising = points.windows(2).filter(|w| w[1].1 > w[0].1).count();
    let falling = points.windows(2).filter(|w| w[1].1 < w[0].1).count();
    let delta = l.1 - f.1;
    let dt = l.0 - f.0;
    Growth {
        first: f.1,
        last: l.1,
        delta,
        per_hour: (real_times && dt > 0.0).then(|| delta / dt * 3600.0),
        rising_steps: rising,
        steps,
        growing: steps > 0
            && delta >= min_abs
            && delta >= min_rel * f.1.abs()
            && rising * 10 >= steps * 6
            && falling * 10 <= steps * 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(content: Option<f64>, mtime: Option<f64>, name: &str) -> OrderKey {
        OrderKey {
            content,
            mtime,
            name: name.into(),
        }
    }

    #[test]
    fn falls_back_from_content_to_mtime_to_name() {
        let (o, s, t) = order(&[
            key(Some(5.0), Some(1.0), "b"),
            key(Some(2.0), Some(9.0), "a"),
        ]);
        assert_eq!((o, s, t), (vec![1, 0], TimeSource::Content, vec![0.0, 3.0]));
        let (o, s, _) = order(&[key(Some(5.0), Some(1.0), "b"), key(None, Some(9.0), "a")]);
        assert_eq!((o, s), (vec![0, 1], TimeSource::Mtime));
        let (o, s, t) = order(&[key(None, Some(1.0), "b"), key(None, None, "a")]);
        assert_eq!((o, s, t), (vec![1, 0], TimeSource::Name, vec![0.0, 1.0]));
    }

    #[test]
    fn growth_needs_most_steps_rising() {
        let g = growth(
            &[(0.0, 0.0), (1.0, 10.0), (2.0, 20.0), (3.0, 30.0)],
            true,
            5.0,
            0.05,
        );
        assert!(g.growing);
        assert_eq!(g.per_hour, Some(36000.0));
        let g = growth(
            &[
                (0.0, 0.0),
                (1.0, 100.0),
                (2.0, 0.0),
                (3.0, 0.0),
                (4.0, 10.0),
            ],
            true,
            5.0,
            0.05,
        );
        assert!(!g.growing);
        assert!(!growth(&[(0.0, 0.0)], true, 0.0, 0.0).growing);
    }

    fn arb_key() -> impl Strategy<Value = OrderKey> {
        (
            prop::option::of(prop_oneof![-1e6f64..1e6, Just(f64::NAN)]),
            prop::option::of(0f64..1e9),
            "[a-c]{0,3}",
        )
            .prop_map(|(c, m, n)| OrderKey {
                content: c,
                mtime: m,
                name: n,
            })
    }

    proptest! {
        /// The order is a permutation, sorted by the chosen time then name, relative times start at 0 and
        /// never decrease, and it does not depend on the order the files were given in.
        #[test]
        fn series_order(keys in prop::collection::vec(arb_key(), 0..12), seed in any::<u64>()) {
            let (idx, source, times) = order(&keys);
            let mut sorted = idx.clone();
            sorted.sort();
            prop_assert_eq!(sorted, (0..keys.len()).collect::<Vec<_>>());
            prop_assert_eq!(times.len(), keys.len());
            if let Some(t0) = times.first() { prop_assert_eq!(*t0, 0.0); }
            for w in times.windows(2) { prop_assert!(w[0] <= w[1]); }
            match source {
                TimeSource::Content => prop_assert!(keys.iter().all(|k| k.content.is_some_and(f64::is_finite))),
                TimeSource::Mtime => prop_assert!(keys.iter().all(|k| k.mtime.is_some())),
                TimeSource::Name => {
                    for w in idx.windows(2) { prop_assert!(keys[w[0]].name <= keys[w[1]].name); }
                }
            }
            // Shuffle the input: the same files come out in the same order.
            let mut perm: Vec<usize> = (0..keys.len()).collect();
            let mut s = seed;
            for i in (1..perm.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                perm.swap(i, (s >> 33) as usize % (i + 1));
            }
            let shuffled: Vec<OrderKey> = perm.iter().map(|&i| keys[i].clone()).collect();
            let (idx2, source2, times2) = order(&shuffled);
            prop_assert_eq!(source, source2);
            prop_assert_eq!(times, times2);
            let a: Vec<(Option<u64>, Option<u64>, String)> = idx.iter().map(|&i| (keys[i].content.map(f64::to_bits), keys[i].mtime.map(f64::to_bits), keys[i].name.clone())).collect();
            let b: Vec<(Option<u64>, Option<u64>, String)> = idx2.iter().map(|&i| (shuffled[i].content.map(f64::to_bits), shuffled[i].mtime.map(f64::to_bits), shuffled[i].name.clone())).collect();
            prop_assert_eq!(a, b);
        }
    }
}
